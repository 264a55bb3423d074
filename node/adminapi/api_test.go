package adminapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/node/adminapi"
)

func startAPI(t *testing.T, cfg adminapi.Config) (*httptest.Server, *node.Node) {
	t.Helper()
	n, err := node.Open(node.Options{
		NodeName:    "mongoose@localhost",
		DataDir:     t.TempDir(),
		RaftAddr:    "127.0.0.1:0",
		StaticHosts: []string{"localhost"},
		HostTypes:   []string{"type1", "type2"},
		Auth:        func(string) node.AuthPolicy { return node.AuthPolicy{Iterations: 64} },
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ts := httptest.NewServer(adminapi.Handler(n, cfg))
	t.Cleanup(func() { ts.Close(); n.Close() })
	return ts, n
}

type call struct {
	name     string
	method   string
	path     string
	body     string
	wantCode int
	wantBody string // exact JSON body when non-empty
}

func do(t *testing.T, ts *httptest.Server, c call, auth func(*http.Request)) (int, string, http.Header) {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, ts.URL+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != nil {
		auth(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header
}

func run(t *testing.T, ts *httptest.Server, calls []call) {
	t.Helper()
	for _, c := range calls {
		code, body, _ := do(t, ts, c, nil)
		if code != c.wantCode || (c.wantBody != "" && body != c.wantBody) {
			t.Errorf("%s: %s %s -> %d %s, want %d %s", c.name, c.method, c.path, code, body, c.wantCode, c.wantBody)
		}
	}
}

// The cases of MongooseIM 6.5.0's service_domain_db_SUITE rest groups, in order.
func TestDomainsREST(t *testing.T) {
	ts, _ := startAPI(t, adminapi.Config{Path: "/api"})
	run(t, ts, []call{
		{"insert", "PUT", "/api/domains/example.db", `{"host_type":"type1"}`, 204, ""},
		{"select", "GET", "/api/domains/example.db", "", 200, `{"host_type":"type1","status":"enabled"}`},
		{"case folded", "GET", "/api/domains/EXAMPLE.db", "", 200, `{"host_type":"type1","status":"enabled"}`},
		{"duplicate", "PUT", "/api/domains/example.db", `{"host_type":"type1"}`, 409, `"Domain already exists"`},
		{"duplicate other type", "PUT", "/api/domains/example.db", `{"host_type":"type2"}`, 409, `"Domain already exists"`},
		{"static", "PUT", "/api/domains/localhost", `{"host_type":"type1"}`, 403, `"Domain is static"`},
		{"unknown type", "PUT", "/api/domains/new.db", `{"host_type":"type3"}`, 403, `"Unknown host type"`},
		{"static as type", "PUT", "/api/domains/new.db", `{"host_type":"localhost"}`, 403, `"Unknown host type"`},
		{"no body", "PUT", "/api/domains/new.db", "", 400, `"Invalid request body"`},
		{"bad json", "PUT", "/api/domains/new.db", `{"host_type":`, 400, `"Invalid request body"`},
		{"not an object", "PUT", "/api/domains/new.db", `["type1"]`, 400, `"Invalid request body"`},
		{"no host type", "PUT", "/api/domains/new.db", `{}`, 400, `"'host_type' field is missing"`},
		{"invalid name", "PUT", "/api/domains/%f3", `{"host_type":"type1"}`, 400, `"Invalid domain name"`},
		{"long name", "PUT", "/api/domains/" + strings.Repeat("a", 1024), `{"host_type":"type1"}`, 400, `"Invalid domain name"`},
		{"select missing", "GET", "/api/domains/nope.db", "", 404, `"Given domain does not exist"`},
		{"select static", "GET", "/api/domains/localhost", "", 403, `"Domain is static"`},
		{"disable", "PATCH", "/api/domains/example.db", `{"enabled":false}`, 204, ""},
		{"disabled", "GET", "/api/domains/example.db", "", 200, `{"host_type":"type1","status":"disabled"}`},
		{"enable", "PATCH", "/api/domains/example.db", `{"enabled":true}`, 204, ""},
		{"patch no field", "PATCH", "/api/domains/example.db", `{}`, 400, `"'enabled' field is missing"`},
		{"patch bad body", "PATCH", "/api/domains/example.db", `nope`, 400, `"Invalid request body"`},
		{"patch missing", "PATCH", "/api/domains/nope.db", `{"enabled":true}`, 404, `"Given domain does not exist"`},
		{"patch static", "PATCH", "/api/domains/localhost", `{"enabled":false}`, 403, `"Domain is static"`},
		{"delete no body", "DELETE", "/api/domains/example.db", "", 400, `"Invalid request body"`},
		{"delete no type", "DELETE", "/api/domains/example.db", `{}`, 400, `"'host_type' field is missing"`},
		{"delete wrong type", "DELETE", "/api/domains/example.db", `{"host_type":"type2"}`, 403, `"Wrong host type was provided"`},
		{"delete unknown type", "DELETE", "/api/domains/example.db", `{"host_type":"type3"}`, 403, `"Unknown host type"`},
		{"delete static", "DELETE", "/api/domains/localhost", `{"host_type":"localhost"}`, 403, `"Domain is static"`},
		{"delete missing", "DELETE", "/api/domains/nope.db", `{"host_type":"type1"}`, 404, `"Given domain does not exist"`},
		{"delete", "DELETE", "/api/domains/example.db", `{"host_type":"type1"}`, 204, ""},
		{"deleted", "GET", "/api/domains/example.db", "", 404, `"Given domain does not exist"`},
		{"insert again", "PUT", "/api/domains/example.db", `{"host_type":"type2"}`, 204, ""},
		{"request delete", "DELETE", "/api/domains/example.db", `{"host_type":"type2","request":true}`, 202, ""},
	})
}

func TestDomainListAndStatus(t *testing.T) {
	ts, _ := startAPI(t, adminapi.Config{Path: "/api"})
	run(t, ts, []call{
		{"b", "PUT", "/api/domains/b.com", `{"host_type":"type1"}`, 204, ""},
		{"a", "PUT", "/api/domains/a.com", `{"host_type":"type2"}`, 204, ""},
		{"disable a", "PATCH", "/api/domains/a.com", `{"enabled":false}`, 204, ""},
		{"list", "GET", "/api/domains", "", 200,
			`[{"domain":"a.com","host_type":"type2","status":"disabled","type":"dynamic"},{"domain":"b.com","host_type":"type1","status":"enabled","type":"dynamic"},{"domain":"localhost","host_type":"localhost","status":"enabled","type":"static"}]`},
		{"filter", "GET", "/api/domains?host_type=type1", "", 200, `[{"domain":"b.com","host_type":"type1","status":"enabled","type":"dynamic"}]`},
		{"filter unknown", "GET", "/api/domains?host_type=nope", "", 403, `"Unknown host type"`},
		{"host types", "GET", "/api/host_types", "", 200, `[{"name":"type1","domains":1},{"name":"type2","domains":1}]`},
	})
	code, body, _ := do(t, ts, call{method: "GET", path: "/api/status"}, nil)
	var st node.Status
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil || st.RaftState != "Leader" ||
		st.Node != "mongoose@localhost" || st.Leader != "mongoose@localhost" || st.AppliedIndex == 0 || st.Domains != 2 {
		t.Errorf("status: %d %s", code, body)
	}
}

func TestUsersREST(t *testing.T) {
	ts, _ := startAPI(t, adminapi.Config{Path: "/api"})
	run(t, ts, []call{
		{"domain", "PUT", "/api/domains/a.com", `{"host_type":"type1"}`, 204, ""},
		{"add", "POST", "/api/users/a.com", `{"username":"Alice","password":"secret"}`, 201, `User alice@a.com successfully registered`},
		{"add bob", "POST", "/api/users/a.com", `{"username":"bob","password":"secret"}`, 201, ""},
		{"duplicate", "POST", "/api/users/a.com", `{"username":"alice","password":"x"}`, 403, `"User alice@a.com already registered at node mongoose@localhost"`},
		{"no username", "POST", "/api/users/a.com", `{"password":"x"}`, 400, `"Missing user name"`},
		{"no password", "POST", "/api/users/a.com", `{"username":"x"}`, 400, `"Missing password"`},
		{"bad body", "POST", "/api/users/a.com", `x`, 400, `"Invalid request body"`},
		{"invalid jid", "POST", "/api/users/a.com", `{"username":"a b","password":"x"}`, 400, `"Invalid jid a b@a.com"`},
		{"unknown domain", "POST", "/api/users/nope.com", `{"username":"x","password":"x"}`, 403, ""},
		{"list", "GET", "/api/users/a.com", "", 200, `["alice@a.com","bob@a.com"]`},
		{"list empty", "GET", "/api/users/nope.com", "", 200, `[]`},
		{"passwd", "PUT", "/api/users/a.com/alice", `{"newpass":"new"}`, 204, ""},
		{"passwd missing field", "PUT", "/api/users/a.com/alice", `{}`, 400, `"Missing new password"`},
		{"passwd empty", "PUT", "/api/users/a.com/alice", `{"newpass":""}`, 400, `"Empty password"`},
		{"passwd unknown user", "PUT", "/api/users/a.com/zed", `{"newpass":"x"}`, 403, `"Password change not allowed"`},
		{"delete", "DELETE", "/api/users/a.com/bob", "", 204, ""},
		{"delete again", "DELETE", "/api/users/a.com/bob", "", 403, `"User does not exist or you are not authorised properly"`},
		{"disable domain", "PATCH", "/api/domains/a.com", `{"enabled":false}`, 204, ""},
		{"add on disabled", "POST", "/api/users/a.com", `{"username":"carol","password":"x"}`, 403, ""},
	})
	_, _, h := do(t, ts, call{method: "POST", path: "/api/users/localhost", body: `{"username":"root","password":"pw"}`}, nil)
	if got := h.Get("Location"); got != "/api/users/localhost/root" {
		t.Errorf("Location = %q", got)
	}
}

func TestBasicAuth(t *testing.T) {
	ts, _ := startAPI(t, adminapi.Config{Path: "/api", Username: "admin", Password: "secret"})
	for _, tc := range []struct {
		name string
		auth func(*http.Request)
		want int
	}{
		{"none", nil, 401},
		{"wrong", func(r *http.Request) { r.SetBasicAuth("admin", "nope") }, 401},
		{"right", func(r *http.Request) { r.SetBasicAuth("admin", "secret") }, 200},
	} {
		code, _, h := do(t, ts, call{method: "GET", path: "/api/domains"}, tc.auth)
		if code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.want)
		}
		if code == 401 && h.Get("WWW-Authenticate") != `Basic realm="mongooseim"` {
			t.Errorf("%s: WWW-Authenticate = %q", tc.name, h.Get("WWW-Authenticate"))
		}
	}
}

func TestCredentialsRefusedWithoutConfiguredAuth(t *testing.T) {
	ts, _ := startAPI(t, adminapi.Config{Path: "/api"})
	code, _, _ := do(t, ts, call{method: "GET", path: "/api/domains"}, func(r *http.Request) { r.SetBasicAuth("a", "b") })
	if code != 401 {
		t.Errorf("credentials without configured auth: %d, want 401", code)
	}
}

func TestOversizedBody(t *testing.T) {
	ts, _ := startAPI(t, adminapi.Config{Path: "/api"})
	big := `{"host_type":"` + strings.Repeat("x", adminapi.MaxBodyBytes) + `"}`
	code, body, _ := do(t, ts, call{method: "PUT", path: "/api/domains/a.com", body: big}, nil)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "too large") {
		t.Errorf("oversized body: %d %s", code, body)
	}
}

func TestDomainServiceDisabled(t *testing.T) {
	ts, _ := startAPI(t, adminapi.Config{Path: "/api", DomainServiceDisabled: true})
	run(t, ts, []call{
		{"put", "PUT", "/api/domains/a.com", `{"host_type":"type1"}`, 403, `"Dynamic domains service is disabled"`},
		{"get", "GET", "/api/domains/a.com", "", 403, `"Dynamic domains service is disabled"`},
		{"users still work", "GET", "/api/users/localhost", "", 200, `[]`},
	})
}
