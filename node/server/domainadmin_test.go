package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mongoose-go/mongoose-go/node/server"
)

// adminCreds is a set of admin API credentials; user "" sends none.
type adminCreds struct{ user, pass string }

// call makes one admin API request as w and returns the status, body and the
// WWW-Authenticate header.
func (w adminCreds) call(t *testing.T, method, url, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if w.user != "" {
		req.SetBasicAuth(w.user, w.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Get("WWW-Authenticate")
}

// domainAdminServer starts a server whose admin API needs root:rootpw (or nothing,
// when global is false), with domains a.example (admin password "apw"), b.example
// ("bpw") and c.example (no password), users alice@a.example and bob@b.example.
func domainAdminServer(t *testing.T, global bool) (string, adminCreds) {
	t.Helper()
	cfg := server.TestConfig(t.TempDir())
	root := adminCreds{}
	if global {
		root = adminCreds{"root", "rootpw"}
		cfg.Listen.HTTP[0].AdminAPI.Username = root.user
		cfg.Listen.HTTP[0].AdminAPI.Password = root.pass
	}
	_, api := serve(t, cfg)
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/domains/a.example", `{"host_type":"basic"}`},
		{"PUT", "/domains/b.example", `{"host_type":"basic"}`},
		{"PUT", "/domains/c.example", `{"host_type":"basic"}`},
		{"PUT", "/domains/a.example/password", `{"password":"apw"}`},
		{"PUT", "/domains/b.example/password", `{"password":"bpw"}`},
		{"POST", "/users/a.example", `{"username":"alice","password":"pw"}`},
		{"POST", "/users/b.example", `{"username":"bob","password":"pw"}`},
	} {
		if code, body, _ := root.call(t, c.method, api+c.path, c.body); code/100 != 2 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, code, body)
		}
	}
	return api, root
}

const (
	globalOnly  = `"Cannot execute this request without global admin permissions"`
	otherDomain = `"Cannot execute this request without permissions to the given domain"`
)

// TestDomainAdminPermissions: every route as the global admin, as a.example's admin,
// as b.example's admin, and with refused credentials (issue 7; reference 10.2
// behaviour 15).
func TestDomainAdminPermissions(t *testing.T) {
	t.Parallel()
	api, root := domainAdminServer(t, true)
	adminA := adminCreds{"admin@a.example", "apw"}
	adminB := adminCreds{"admin@b.example", "bpw"}
	stanza := func(from, to string) string {
		return `{"stanza":"<message from='` + from + `' to='` + to + `' type='chat'><body>x</body></message>"}`
	}
	// Codes as root, a.example's admin and b.example's admin; a 403 body names why.
	for _, c := range []struct {
		method, path, body string
		root, a, b         int
		aBody              string // a.example's admin's body when a is 403
	}{
		// a.example's own resources.
		{"GET", "/domains/a.example", "", 200, 200, 403, ""},
		{"PUT", "/domains/a.example/password", `{"password":"apw"}`, 204, 204, 403, ""},
		{"GET", "/users/a.example", "", 200, 200, 403, ""},
		{"PUT", "/users/a.example/alice", `{"newpass":"pw"}`, 204, 204, 403, ""},
		{"GET", "/sessions/a.example", "", 200, 200, 403, ""},
		{"GET", "/sessions/a.example/alice", "", 200, 200, 403, ""},
		{"DELETE", "/sessions/a.example/alice/nores", "", 404, 404, 403, ""},
		{"GET", "/contacts/alice@a.example", "", 200, 200, 403, ""},
		{"POST", "/stanzas", stanza("alice@a.example", "alice@a.example"), 204, 204, 403, ""},
		// A stanza from a.example to another domain is a.example's to send.
		{"POST", "/stanzas", stanza("alice@a.example", "bob@b.example"), 204, 204, 403, ""},
		// Validation stays the handler's: the domain admin gets the same message.
		{"POST", "/stanzas", `{"stanza":"<message to='alice@a.example'/>"}`, 400, 400, 400, ""},
		// Another domain, whether it exists or not, gives one answer.
		{"GET", "/domains/b.example", "", 200, 403, 200, otherDomain},
		{"GET", "/domains/missing.example", "", 404, 403, 403, otherDomain},
		{"GET", "/users/b.example", "", 200, 403, 200, otherDomain},
		{"GET", "/users/missing.example", "", 200, 403, 403, otherDomain},
		{"POST", "/users/missing.example", `{"username":"x","password":"pw"}`, 403, 403, 403, otherDomain},
		{"GET", "/sessions/b.example", "", 200, 403, 200, otherDomain},
		{"GET", "/contacts/bob@b.example", "", 200, 403, 200, otherDomain},
		{"PUT", "/contacts/alice@a.example/bob@b.example", `{"action":"subscribe"}`, 204, 403, 403, otherDomain},
		{"POST", "/stanzas", stanza("bob@b.example", "alice@a.example"), 204, 403, 204, otherDomain},
		{"PUT", "/domains/b.example/password", `{"password":"bpw"}`, 204, 403, 204, otherDomain},
		// Global operations.
		{"GET", "/domains", "", 200, 403, 403, globalOnly},
		{"PUT", "/domains/a.example", `{"host_type":"basic"}`, 409, 403, 403, globalOnly},
		{"PUT", "/domains/new.example", `{"host_type":"nope"}`, 403, 403, 403, globalOnly},
		{"PATCH", "/domains/a.example", `{"enabled":true}`, 204, 403, 403, globalOnly},
		{"DELETE", "/domains/a.example", `{"host_type":"other"}`, 403, 403, 403, globalOnly},
		{"DELETE", "/domains/c.example/password", "", 404, 403, 403, globalOnly},
		{"DELETE", "/domains/a.example/password", "", 0, 403, 403, globalOnly}, // root: not run
		{"GET", "/host_types", "", 200, 403, 403, globalOnly},
		{"GET", "/status", "", 200, 403, 403, globalOnly},
		{"GET", "/cluster", "", 200, 403, 403, globalOnly},
		{"POST", "/cluster/leave", "", 0, 403, 403, globalOnly},
	} {
		for _, p := range []struct {
			adminCreds adminCreds
			want       int
		}{{root, c.root}, {adminA, c.a}, {adminB, c.b}} {
			if p.want == 0 {
				continue
			}
			code, body, _ := p.adminCreds.call(t, c.method, api+c.path, c.body)
			if code != p.want {
				t.Errorf("%s: %s %s: %d %s, want %d", p.adminCreds.user, c.method, c.path, code, body, p.want)
			}
			if p.adminCreds == adminA && code == 403 && c.aBody != "" && body != c.aBody {
				t.Errorf("%s: %s %s: body %s, want %s", p.adminCreds.user, c.method, c.path, body, c.aBody)
			}
		}
	}

	// Refused credentials: a wrong password for a domain with one, a domain with no
	// password, a disabled domain, a missing domain, a bad name, and no credentials
	// at all. All answer exactly as a wrong global login does, revealing nothing.
	if code, _, _ := root.call(t, "PATCH", api+"/domains/b.example", `{"enabled":false}`); code != 204 {
		t.Fatalf("disable b.example: %d", code)
	}
	wantCode, wantBody, wantAuth := adminCreds{"root", "wrong"}.call(t, "GET", api+"/domains/a.example", "")
	if wantCode != 401 || wantAuth != `Basic realm="mongooseim"` {
		t.Fatalf("wrong global login: %d %s %q", wantCode, wantBody, wantAuth)
	}
	for _, w := range []adminCreds{
		{"admin@a.example", "wrong"},
		{"admin@c.example", "apw"},
		{"admin@b.example", "bpw"},
		{"admin@missing.example", "apw"},
		{"admin@bad..name", "apw"},
		{"admin@A.EXAMPLE", "wrong"},
		{"", ""},
	} {
		for _, path := range []string{"/domains/a.example", "/users/a.example", "/domains"} {
			code, body, auth := w.call(t, "GET", api+path, "")
			if code != wantCode || body != wantBody || auth != wantAuth {
				t.Errorf("%q on %s: %d %s %q, want %d %s %q", w.user, path, code, body, auth, wantCode, wantBody, wantAuth)
			}
		}
	}
	// The domain part is a domain name: case does not matter.
	if code, body, _ := (adminCreds{"admin@A.Example", "apw"}).call(t, "GET", api+"/users/a.example", ""); code != 200 {
		t.Errorf("admin@A.Example: %d %s", code, body)
	}
}

// TestDomainAdminWithoutGlobalAuth: with no global username, requests without
// credentials are the global admin's, as before, and admin@DOMAIN credentials are
// still a domain admin login.
func TestDomainAdminWithoutGlobalAuth(t *testing.T) {
	t.Parallel()
	api, anon := domainAdminServer(t, false)
	adminA := adminCreds{"admin@a.example", "apw"}
	for _, c := range []struct {
		w          adminCreds
		path       string
		code       int
		body, auth string
	}{
		{anon, "/domains", 200, "", ""},
		{adminA, "/users/a.example", 200, `["alice@a.example"]`, ""},
		{adminA, "/domains", 403, globalOnly, ""},
		{adminA, "/users/b.example", 403, otherDomain, ""},
		{adminCreds{"admin@a.example", "wrong"}, "/users/a.example", 401, `"Unauthorized"`, `Basic realm="mongooseim"`},
		{adminCreds{"root", "x"}, "/domains", 401, `"Unauthorized"`, `Basic realm="mongooseim"`},
	} {
		code, body, auth := c.w.call(t, "GET", api+c.path, "")
		if code != c.code || c.body != "" && body != c.body || auth != c.auth {
			t.Errorf("%q GET %s: %d %s %q, want %d %s %q", c.w.user, c.path, code, body, auth, c.code, c.body, c.auth)
		}
	}
}

// TestDomainPasswordLifecycle: reference 10.2 behaviours 14 (set and delete, with
// MongooseIM's messages) and 16 (removing a domain deletes its admin password).
func TestDomainPasswordLifecycle(t *testing.T) {
	t.Parallel()
	api, root := domainAdminServer(t, true)
	adminA := adminCreds{"admin@a.example", "apw"}
	steps := []struct {
		w            adminCreds
		method, path string
		body         string
		code         int
		resp         string
	}{
		{root, "PUT", "/domains/missing.example/password", `{"password":"x"}`, 404, `"Given domain does not exist or is disabled"`},
		// The domain admin sets its own password; the old one stops working.
		{adminA, "PUT", "/domains/a.example/password", `{"password":"apw2"}`, 204, ""},
		{adminA, "GET", "/domains/a.example", "", 401, `"Unauthorized"`},
		{adminCreds{"admin@a.example", "apw2"}, "GET", "/domains/a.example", "", 200, `{"host_type":"basic","status":"enabled"}`},
		{root, "DELETE", "/domains/a.example/password", "", 204, ""},
		{adminCreds{"admin@a.example", "apw2"}, "GET", "/domains/a.example", "", 401, `"Unauthorized"`},
		{root, "DELETE", "/domains/a.example/password", "", 404, `"Domain password does not exist"`},
		// 16: a removed domain's password goes with it; re-adding the name gives a
		// domain without an admin.
		{root, "PUT", "/domains/a.example/password", `{"password":"apw"}`, 204, ""},
		{adminA, "GET", "/domains/a.example", "", 200, ""},
		{root, "DELETE", "/domains/a.example", `{"host_type":"basic"}`, 204, ""},
		{adminA, "GET", "/domains/a.example", "", 401, `"Unauthorized"`},
		{root, "PUT", "/domains/a.example", `{"host_type":"basic"}`, 204, ""},
		{adminA, "GET", "/domains/a.example", "", 401, `"Unauthorized"`},
		{root, "DELETE", "/domains/a.example/password", "", 404, `"Domain password does not exist"`},
	}
	for i, s := range steps {
		code, body, _ := s.w.call(t, s.method, api+s.path, s.body)
		if code != s.code || s.resp != "" && body != s.resp {
			t.Fatalf("step %d: %q %s %s: %d %s, want %d %s", i, s.w.user, s.method, s.path, code, body, s.code, s.resp)
		}
	}
}
