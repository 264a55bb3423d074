package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeAPI implements the admin REST contract (notes/rest-contract.md) in memory, with the
// exact status codes and JSON-string error bodies, so the CLI is tested end to end over HTTP.
type fakeAPI struct {
	mu        sync.Mutex
	user, pw  string // when set, Basic auth is required
	domains   map[string]*fakeDomain
	static    []string          // static hosts: visible in lists, immutable
	hostTypes []string          // configured host types
	passwords map[string]string // domain admin passwords
	users     map[string]map[string]string
	onAddDom  func() // called (unlocked) at the start of each PUT /domains/{d}
}

type fakeDomain struct{ hostType, status string }

const fakeNode = "mongoose@localhost"

func newFakeAPI(t *testing.T) (*fakeAPI, string) {
	t.Helper()
	f := &fakeAPI{
		domains:   map[string]*fakeDomain{},
		static:    []string{"localhost"},
		hostTypes: []string{"basic", "premium"},
		passwords: map[string]string{},
		users:     map[string]map[string]string{},
	}
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	base := srv.URL + "/api"
	// Commands read these when flags are absent; keep the developer's environment out.
	t.Setenv(envAPI, base)
	t.Setenv(envAPIUser, "")
	t.Setenv(envAPIPassword, "")
	return f, base
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func (f *fakeAPI) handler() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, body map[string]any)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock() // tests set these fields while the server runs
			hook, wantUser, wantPw := f.onAddDom, f.user, f.pw
			f.mu.Unlock()
			if r.Method == http.MethodPut && strings.Count(r.URL.Path, "/") == 3 && hook != nil {
				hook()
			}
			u, p, ok := r.BasicAuth()
			if (wantUser == "" && ok) || (wantUser != "" && (u != wantUser || p != wantPw)) {
				w.Header().Set("WWW-Authenticate", `Basic realm="mongooseim"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			var body map[string]any
			if r.ContentLength != 0 && r.Method != http.MethodGet {
				if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
					reply(w, 400, "Invalid request body")
					return
				}
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			fn(w, r, body)
		})
	}
	h("PUT /api/domains/{d}", f.putDomain)
	h("GET /api/domains/{d}", f.getDomain)
	h("PATCH /api/domains/{d}", f.patchDomain)
	h("DELETE /api/domains/{d}", f.deleteDomain)
	h("PUT /api/domains/{d}/password", f.putPassword)
	h("DELETE /api/domains/{d}/password", func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		if _, ok := f.passwords[r.PathValue("d")]; !ok {
			reply(w, 404, "Domain password does not exist")
			return
		}
		delete(f.passwords, r.PathValue("d"))
		reply(w, 204, nil)
	})
	h("GET /api/domains", f.listDomains)
	h("GET /api/host_types", f.listHostTypes)
	h("GET /api/status", func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		reply(w, 200, map[string]any{"node": fakeNode, "raft_state": "Leader", "leader": fakeNode,
			"leader_address": "127.0.0.1:7946", "applied_index": 42, "dynamic_domains": len(f.domains)})
	})
	h("GET /api/users/{d}", f.listUsers)
	h("POST /api/users/{d}", f.addUser)
	h("PUT /api/users/{d}/{u}", f.changePassword)
	h("DELETE /api/users/{d}/{u}", func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		d, u := r.PathValue("d"), r.PathValue("u")
		if _, ok := f.users[d][u]; !ok {
			reply(w, 403, "User does not exist or you are not authorised properly")
			return
		}
		delete(f.users[d], u)
		reply(w, 204, nil)
	})
	return mux
}

// staticOrMissing answers for domains the dynamic-domain endpoints cannot act on.
func (f *fakeAPI) staticOrMissing(w http.ResponseWriter, d string) (*fakeDomain, bool) {
	if slices.Contains(f.static, d) {
		reply(w, 403, "Domain is static")
		return nil, false
	}
	dom, ok := f.domains[d]
	if !ok {
		reply(w, 404, "Given domain does not exist")
		return nil, false
	}
	return dom, true
}

func (f *fakeAPI) putDomain(w http.ResponseWriter, r *http.Request, body map[string]any) {
	d := r.PathValue("d")
	ht, ok := body["host_type"].(string)
	switch {
	case body == nil:
		reply(w, 400, "Invalid request body")
	case !ok:
		reply(w, 400, "'host_type' field is missing")
	case d == "" || strings.ContainsAny(d, " @/"):
		reply(w, 400, "Invalid domain name")
	case slices.Contains(f.static, d):
		reply(w, 403, "Domain is static")
	case !slices.Contains(f.hostTypes, ht):
		reply(w, 403, "Unknown host type")
	case f.domains[d] != nil:
		reply(w, 409, "Domain already exists")
	default:
		f.domains[d] = &fakeDomain{hostType: ht, status: "enabled"}
		reply(w, 204, nil)
	}
}

func (f *fakeAPI) getDomain(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	if dom, ok := f.staticOrMissing(w, r.PathValue("d")); ok {
		reply(w, 200, map[string]string{"host_type": dom.hostType, "status": dom.status})
	}
}

func (f *fakeAPI) patchDomain(w http.ResponseWriter, r *http.Request, body map[string]any) {
	enabled, ok := body["enabled"].(bool)
	if !ok {
		reply(w, 400, "'enabled' field is missing")
		return
	}
	dom, ok := f.staticOrMissing(w, r.PathValue("d"))
	switch {
	case !ok:
	case dom.status == "deleting":
		reply(w, 403, "Domain has been deleted")
	default:
		dom.status = map[bool]string{true: "enabled", false: "disabled"}[enabled]
		reply(w, 204, nil)
	}
}

func (f *fakeAPI) deleteDomain(w http.ResponseWriter, r *http.Request, body map[string]any) {
	d := r.PathValue("d")
	ht, ok := body["host_type"].(string)
	if !ok {
		reply(w, 400, "'host_type' field is missing")
		return
	}
	dom, ok := f.staticOrMissing(w, d)
	switch {
	case !ok:
	case dom.hostType != ht:
		reply(w, 403, "Wrong host type was provided")
	case body["request"] == true:
		dom.status = "deleting" // the fake never finishes: the test sees the in-between state
		reply(w, 202, nil)
	default:
		delete(f.domains, d)
		delete(f.users, d)
		reply(w, 204, nil)
	}
}

func (f *fakeAPI) putPassword(w http.ResponseWriter, r *http.Request, body map[string]any) {
	d := r.PathValue("d")
	pw, _ := body["password"].(string)
	dom := f.domains[d]
	if !slices.Contains(f.static, d) && (dom == nil || dom.status != "enabled") {
		reply(w, 404, "Given domain does not exist or is disabled")
		return
	}
	f.passwords[d] = pw
	reply(w, 204, nil)
}

func (f *fakeAPI) listDomains(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	filter := r.URL.Query().Get("host_type")
	if filter != "" && !slices.Contains(f.hostTypes, filter) {
		reply(w, 403, "Unknown host type")
		return
	}
	out := []map[string]string{}
	if filter == "" {
		for _, s := range f.static {
			out = append(out, map[string]string{"domain": s, "host_type": s, "status": "enabled", "type": "static"})
		}
	}
	for name, d := range f.domains {
		if filter == "" || d.hostType == filter {
			out = append(out, map[string]string{"domain": name, "host_type": d.hostType, "status": d.status, "type": "dynamic"})
		}
	}
	slices.SortFunc(out, func(a, b map[string]string) int { return strings.Compare(a["domain"], b["domain"]) })
	reply(w, 200, out)
}

func (f *fakeAPI) listHostTypes(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
	out := []map[string]any{}
	for _, ht := range f.hostTypes {
		n := 0
		for _, d := range f.domains {
			if d.hostType == ht {
				n++
			}
		}
		out = append(out, map[string]any{"name": ht, "domains": n})
	}
	reply(w, 200, out)
}

func (f *fakeAPI) listUsers(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	d := r.PathValue("d")
	out := []string{}
	for u := range f.users[d] {
		out = append(out, u+"@"+d)
	}
	slices.Sort(out)
	reply(w, 200, out)
}

func (f *fakeAPI) addUser(w http.ResponseWriter, r *http.Request, body map[string]any) {
	d := r.PathValue("d")
	u, _ := body["username"].(string)
	pw, _ := body["password"].(string)
	jid := u + "@" + d
	switch {
	case u == "":
		reply(w, 400, "Missing user name")
	case pw == "":
		reply(w, 400, "Missing password")
	case f.domains[d] == nil && !slices.Contains(f.static, d):
		reply(w, 403, fmt.Sprintf("Can't register user %s at node %s: not_allowed", jid, fakeNode))
	case f.users[d][u] != "":
		reply(w, 403, fmt.Sprintf("User %s already registered at node %s", jid, fakeNode))
	default:
		if f.users[d] == nil {
			f.users[d] = map[string]string{}
		}
		f.users[d][u] = pw
		w.Header().Set("Location", "/api/users/"+d+"/"+u)
		reply(w, 201, fmt.Sprintf("User %s successfully registered", jid))
	}
}

func (f *fakeAPI) changePassword(w http.ResponseWriter, r *http.Request, body map[string]any) {
	d, u := r.PathValue("d"), r.PathValue("u")
	pw, ok := body["newpass"].(string)
	switch {
	case !ok:
		reply(w, 400, "Missing new password")
	case pw == "":
		reply(w, 400, "Empty password")
	case f.users[d][u] == "":
		reply(w, 403, "Password change not allowed")
	default:
		f.users[d][u] = pw
		reply(w, 204, nil)
	}
}

// snapshot helpers for assertions.
func (f *fakeAPI) domain(name string) (fakeDomain, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.domains[name]
	if !ok {
		return fakeDomain{}, false
	}
	return *d, true
}

func (f *fakeAPI) password(domain string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.passwords[domain]
}

func (f *fakeAPI) userPassword(domain, user string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.users[domain][user]
}

func (f *fakeAPI) addDomains(hostType string, names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range names {
		f.domains[n] = &fakeDomain{hostType: hostType, status: "enabled"}
	}
}

// run executes one command line in-process, like the binary would.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := NewRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errb.String(), err
}

// mustRun is run for commands that must succeed.
func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := run(t, stdin, args...)
	if err != nil {
		t.Fatalf("%v: %v (stderr %q)", args, err, errOut)
	}
	return out
}

// wantErr runs a command that must fail with exactly msg.
func wantErr(t *testing.T, msg string, args ...string) {
	t.Helper()
	_, _, err := run(t, "", args...)
	if err == nil || err.Error() != msg {
		t.Fatalf("%v: error %v, want %q", args, err, msg)
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", freePort(t))
}

func TestUnreachableAPI(t *testing.T) {
	newFakeAPI(t) // for the clean environment
	base := "http://" + closedAddr(t) + "/api"
	msg := "cannot reach the admin API at " + base + ": connection refused"
	wantErr(t, msg, "domain", "list", "--api", base)
	wantErr(t, msg, "status", "--api", base)
	wantErr(t, msg, "user", "add", "a@b.org", "--password", "x", "--api", base)

	// A bulk run stops at the first such error instead of failing every line.
	out, stderr, err := run(t, "a.org\nb.org\nc.org\n", "domain", "add", "--from-file", "-", "--host-type", "basic", "--api", base, "--workers", "1")
	if err == nil || err.Error() != msg {
		t.Fatalf("bulk error %v", err)
	}
	if out != "added 0, already existed 0, failed 0, not attempted 3\n" || stderr != "" {
		t.Fatalf("bulk stdout %q stderr %q", out, stderr)
	}
}

func TestAPIFromEnvironmentAndFlag(t *testing.T) {
	f, base := newFakeAPI(t)
	f.addDomains("basic", "env.org")
	// newFakeAPI put the fake in MONGOOSE_API: no --api needed.
	if out := mustRun(t, "", "domain", "show", "env.org"); !strings.Contains(out, "env.org") {
		t.Fatalf("show via env printed %q", out)
	}
	// The flag wins over the environment.
	t.Setenv(envAPI, "http://"+closedAddr(t)+"/api")
	mustRun(t, "", "domain", "show", "env.org", "--api", base+"/") // trailing slash tolerated
	wantErr(t, `invalid admin API URL "ftp://x/api": want http(s)://host:port/path`, "status", "--api", "ftp://x/api")
}

func TestAuth(t *testing.T) {
	f, base := newFakeAPI(t)
	f.mu.Lock()
	f.user, f.pw = "admin", "secret"
	f.mu.Unlock()
	wantErr(t, "401 Unauthorized", "status")
	wantErr(t, "401 Unauthorized", "status", "--api-user", "admin", "--api-password", "wrong")
	mustRun(t, "", "status", "--api-user", "admin", "--api-password", "secret", "--api", base)

	t.Setenv(envAPIUser, "admin")
	t.Setenv(envAPIPassword, "secret")
	mustRun(t, "", "host-type", "list")
	// Flags override the environment.
	wantErr(t, "401 Unauthorized", "host-type", "list", "--api-password", "wrong")

	// A bulk run stops on bad credentials too.
	t.Setenv(envAPIPassword, "wrong")
	_, _, err := run(t, "a,example.org,p\n", "user", "import", "-")
	if err == nil || err.Error() != "401 Unauthorized" {
		t.Fatalf("import with bad credentials: %v", err)
	}
}

func TestFlagAndCommandErrors(t *testing.T) {
	newFakeAPI(t)
	wantErr(t, `invalid argument "xml" for "-o, --output" flag: want table or json`, "domain", "list", "-o", "xml")
	wantErr(t, "unknown flag: --frob", "domain", "list", "--frob")
	wantErr(t, `unknown command "frob" for "mongoose-go domain"`, "domain", "frob")
	wantErr(t, `unknown command "frob" for "mongoose-go user"`, "user", "frob")
	wantErr(t, "accepts 1 arg(s), received 0", "domain", "show")
	wantErr(t, "unknown command \"x\" for \"mongoose-go status\"", "status", "x")
}

// The admin flags are on the admin commands only.
func TestAdminFlagsNotOnRoot(t *testing.T) {
	root := NewRoot()
	if root.PersistentFlags().Lookup("api") != nil {
		t.Fatal("--api must not be a root flag")
	}
	for _, name := range []string{"domain", "host-type", "user", "status"} {
		c, _, err := root.Find([]string{name})
		if err != nil || c.Name() != name {
			t.Fatalf("find %s: %v", name, err)
		}
		for _, fl := range []string{"api", "api-user", "api-password", "output"} {
			if c.PersistentFlags().Lookup(fl) == nil {
				t.Errorf("%s lacks --%s", name, fl)
			}
		}
	}
}
