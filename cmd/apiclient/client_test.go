package apiclient

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// recorded is one request as the server saw it.
type recorded struct {
	method, path, query, body string
	user, password            string
	auth                      bool
}

// server answers every request with code and body, and records the request.
func server(t *testing.T, code int, body string) (*Client, *recorded) {
	t.Helper()
	rec := &recorded{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.method, rec.path, rec.query, rec.body = r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(b)
		rec.user, rec.password, rec.auth = r.BasicAuth()
		w.WriteHeader(code)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return New(srv.URL+"/api/", "", ""), rec
}

func TestRequestsFollowTheContract(t *testing.T) {
	cases := []struct {
		name       string
		call       func(c *Client) error
		method     string
		path, body string
	}{
		{"add domain", func(c *Client) error { return c.AddDomain("example.org", "basic") },
			"PUT", "/api/domains/example.org", `{"host_type":"basic"}`},
		{"remove sync", func(c *Client) error { return c.RemoveDomain("example.org", "basic", false) },
			"DELETE", "/api/domains/example.org", `{"host_type":"basic"}`},
		{"remove async", func(c *Client) error { return c.RemoveDomain("example.org", "basic", true) },
			"DELETE", "/api/domains/example.org", `{"host_type":"basic","request":true}`},
		{"enable", func(c *Client) error { return c.EnableDomain("example.org") },
			"PATCH", "/api/domains/example.org", `{"enabled":true}`},
		{"disable", func(c *Client) error { return c.DisableDomain("example.org") },
			"PATCH", "/api/domains/example.org", `{"enabled":false}`},
		{"set password", func(c *Client) error { return c.SetDomainPassword("example.org", "pw") },
			"PUT", "/api/domains/example.org/password", `{"password":"pw"}`},
		{"delete password", func(c *Client) error { return c.DeleteDomainPassword("example.org") },
			"DELETE", "/api/domains/example.org/password", ``},
		{"add user", func(c *Client) error { return c.AddUser("example.org", "alice", "pw") },
			"POST", "/api/users/example.org", `{"username":"alice","password":"pw"}`},
		{"change password", func(c *Client) error { return c.ChangePassword("example.org", "alice", "pw2") },
			"PUT", "/api/users/example.org/alice", `{"newpass":"pw2"}`},
		{"remove user", func(c *Client) error { return c.RemoveUser("example.org", "alice") },
			"DELETE", "/api/users/example.org/alice", ``},
		{"escaped segment", func(c *Client) error { return c.RemoveUser("exa mple.org", "a?b") },
			"DELETE", "/api/users/exa%20mple.org/a%3Fb", ``},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := server(t, http.StatusNoContent, "")
			if err := tc.call(c); err != nil {
				t.Fatal(err)
			}
			if rec.method != tc.method || rec.path != tc.path || rec.body != tc.body {
				t.Fatalf("sent %s %s %s, want %s %s %s", rec.method, rec.path, rec.body, tc.method, tc.path, tc.body)
			}
			if rec.auth {
				t.Fatal("sent Basic auth without credentials")
			}
		})
	}
}

func TestBasicAuth(t *testing.T) {
	c, rec := server(t, http.StatusOK, `[]`)
	c.user, c.password = "admin", "secret"
	if _, err := c.HostTypes(); err != nil {
		t.Fatal(err)
	}
	if !rec.auth || rec.user != "admin" || rec.password != "secret" {
		t.Fatalf("auth sent: %v %q %q", rec.auth, rec.user, rec.password)
	}
}

func TestDecodesResponses(t *testing.T) {
	c, rec := server(t, http.StatusOK, `[{"domain":"a.com","host_type":"basic","status":"enabled","type":"dynamic"}]`)
	ds, err := c.ListDomains("ty pe&x")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0] != (DomainInfo{"a.com", "basic", "enabled", "dynamic"}) {
		t.Fatalf("decoded %+v", ds)
	}
	if rec.path != "/api/domains" || rec.query != "host_type=ty+pe%26x" {
		t.Fatalf("path %q query %q", rec.path, rec.query)
	}

	c, _ = server(t, http.StatusOK, `{"host_type":"basic","status":"disabled"}`)
	d, err := c.GetDomain("b.com")
	if err != nil || d != (DomainInfo{Domain: "b.com", HostType: "basic", Status: "disabled"}) {
		t.Fatalf("GetDomain = %+v, %v", d, err)
	}

	c, _ = server(t, http.StatusOK, `{"node":"n","raft_state":"Follower","leader":"l","leader_address":"1.2.3.4:7946","applied_index":18446744073709551615,"dynamic_domains":3}`)
	s, err := c.Status()
	want := Status{Node: "n", RaftState: "Follower", Leader: "l", LeaderAddress: "1.2.3.4:7946", AppliedIndex: 1<<64 - 1, DynamicDomains: 3}
	if err != nil || s != want {
		t.Fatalf("Status = %+v, %v", s, err)
	}

	c, _ = server(t, http.StatusOK, `null`)
	users, err := c.ListUsers("x.org")
	if err != nil || users == nil || len(users) != 0 {
		t.Fatalf("null list = %#v, %v", users, err)
	}

	c, _ = server(t, http.StatusOK, `{"broken`)
	if _, err := c.HostTypes(); err == nil || !strings.Contains(err.Error(), "malformed response") {
		t.Fatalf("broken JSON: %v", err)
	}
}

func TestErrorBodies(t *testing.T) {
	cases := []struct {
		code                  int
		body, msg             string
		dup, notFound, unauth bool
	}{
		{409, `"Domain already exists"`, "Domain already exists", true, false, false},
		{403, `"User a@b.org already registered at node n"`, "User a@b.org already registered at node n", true, false, false},
		{403, `"Password change not allowed"`, "Password change not allowed", false, false, false},
		{404, `"Given domain does not exist"`, "Given domain does not exist", false, true, false},
		{401, ``, "401 Unauthorized", false, false, true},
		{500, ``, "500 Internal Server Error", false, false, false},
		{502, "<html>Bad\ngateway</html>\n", "<html>Bad gateway</html>", false, false, false},
		{400, `"two\nlines\u001b[31m"`, "two lines [31m", false, false, false},
	}
	for _, tc := range cases {
		c, _ := server(t, tc.code, tc.body)
		err := c.AddDomain("x.org", "basic")
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != tc.code || apiErr.Message != tc.msg || err.Error() != tc.msg {
			t.Errorf("%d %q: got %#v", tc.code, tc.body, err)
			continue
		}
		if IsDuplicate(err) != tc.dup || IsNotFound(err) != tc.notFound || errors.Is(err, ErrUnauthorized) != tc.unauth {
			t.Errorf("%d %q: dup %v notFound %v unauth %v", tc.code, tc.body, IsDuplicate(err), IsNotFound(err), errors.Is(err, ErrUnauthorized))
		}
	}
}

func TestInvalidNamesAreNotSent(t *testing.T) {
	c, rec := server(t, http.StatusNoContent, "")
	for _, name := range []string{"", ".", "..", "a/b"} {
		if err := c.EnableDomain(name); err == nil {
			t.Errorf("EnableDomain(%q) succeeded", name)
		}
		if err := c.RemoveUser("example.org", name); err == nil {
			t.Errorf("RemoveUser(%q) succeeded", name)
		}
	}
	if rec.method != "" {
		t.Fatalf("a request was sent: %s %s", rec.method, rec.path)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String() + "/api"
	l.Close()
	_, err = New(base, "", "").Status()
	if err == nil || err.Error() != "cannot reach the admin API at "+base+": connection refused" {
		t.Fatalf("error %v", err)
	}
	if !errors.Is(err, ErrUnreachable) {
		t.Fatal("not ErrUnreachable")
	}
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.URL != base {
		t.Fatalf("As UnreachableError: %#v", err)
	}
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers; the client must give up on its own
	}))
	t.Cleanup(srv.Close)
	c := New(srv.URL, "", "")
	c.HTTP.Timeout = 50 * time.Millisecond
	_, err := c.HostTypes()
	if err == nil || !errors.Is(err, ErrUnreachable) || !strings.HasSuffix(err.Error(), ": no answer within 50ms") {
		t.Fatalf("error %v", err)
	}
}

func TestStructsMarshalAsTheContract(t *testing.T) {
	b, _ := json.Marshal(HostType{Name: "basic", Domains: 12})
	if string(b) != `{"name":"basic","domains":12}` {
		t.Fatalf("HostType JSON %s", b)
	}
	b, _ = json.Marshal(DomainInfo{Domain: "a.com", HostType: "basic", Status: "enabled"})
	if string(b) != `{"domain":"a.com","host_type":"basic","status":"enabled"}` {
		t.Fatalf("DomainInfo JSON %s", b)
	}
}
