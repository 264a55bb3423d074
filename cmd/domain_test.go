package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestDomainLifecycle(t *testing.T) {
	f, _ := newFakeAPI(t)

	if out := mustRun(t, "", "domain", "add", "example.org", "--host-type", "basic"); out != "added domain example.org (host type basic)\n" {
		t.Fatalf("add printed %q", out)
	}
	if d, ok := f.domain("example.org"); !ok || d.hostType != "basic" {
		t.Fatalf("server has %+v, %v", d, ok)
	}
	out := mustRun(t, "", "domain", "show", "example.org")
	for _, want := range []string{"domain:     example.org", "host type:  basic", "status:     enabled"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output %q lacks %q", out, want)
		}
	}

	mustRun(t, "", "domain", "disable", "example.org")
	if d, _ := f.domain("example.org"); d.status != "disabled" {
		t.Fatalf("status after disable = %q", d.status)
	}
	if out := mustRun(t, "", "domain", "enable", "example.org"); out != "enabled domain example.org\n" {
		t.Fatalf("enable printed %q", out)
	}
	if d, _ := f.domain("example.org"); d.status != "enabled" {
		t.Fatalf("status after enable = %q", d.status)
	}

	if out := mustRun(t, "", "domain", "remove", "example.org", "--host-type", "basic"); out != "removed domain example.org\n" {
		t.Fatalf("remove printed %q", out)
	}
	if _, ok := f.domain("example.org"); ok {
		t.Fatal("domain still present after remove")
	}
	wantErr(t, "Given domain does not exist", "domain", "show", "example.org")
}

func TestDomainErrorsAreTheServersReason(t *testing.T) {
	f, _ := newFakeAPI(t)
	f.addDomains("basic", "taken.org")
	wantErr(t, "Domain already exists", "domain", "add", "taken.org", "--host-type", "basic")
	wantErr(t, "Unknown host type", "domain", "add", "new.org", "--host-type", "nope")
	wantErr(t, "Domain is static", "domain", "add", "localhost", "--host-type", "basic")
	wantErr(t, "Domain is static", "domain", "show", "localhost")
	wantErr(t, "Wrong host type was provided", "domain", "remove", "taken.org", "--host-type", "premium")
	wantErr(t, "Given domain does not exist", "domain", "disable", "nope.org")
	wantErr(t, `required flag(s) "host-type" not set`, "domain", "add", "x.org")
	wantErr(t, `required flag(s) "host-type" not set`, "domain", "remove", "x.org")
	wantErr(t, "give a domain name or --from-file FILE", "domain", "add", "--host-type", "basic")
	wantErr(t, "give either a domain name or --from-file, not both",
		"domain", "add", "x.org", "--from-file", "f", "--host-type", "basic")
	wantErr(t, `invalid domain name ".."`, "domain", "show", "..")
}

func TestDomainRemoveAsync(t *testing.T) {
	f, _ := newFakeAPI(t)
	f.addDomains("basic", "big.org")
	out := mustRun(t, "", "domain", "remove", "big.org", "--host-type", "basic", "--async")
	if !strings.Contains(out, "continues in the background") {
		t.Fatalf("async remove printed %q", out)
	}
	// The fake only reaches "deleting" when the body carried "request": true.
	if d, ok := f.domain("big.org"); !ok || d.status != "deleting" {
		t.Fatalf("server state %+v, %v; want deleting", d, ok)
	}
	if out := mustRun(t, "", "domain", "show", "big.org"); !strings.Contains(out, "deleting") {
		t.Fatalf("show printed %q", out)
	}
}

func TestDomainList(t *testing.T) {
	f, _ := newFakeAPI(t)
	f.addDomains("basic", "b.org", "a.org")
	f.addDomains("premium", "p.org")

	out := mustRun(t, "", "domain", "list")
	want := "DOMAIN     HOST_TYPE  STATUS   TYPE\n" +
		"a.org      basic      enabled  dynamic\n" +
		"b.org      basic      enabled  dynamic\n" +
		"localhost  localhost  enabled  static\n" +
		"p.org      premium    enabled  dynamic\n"
	if out != want {
		t.Fatalf("list table:\n%s\nwant:\n%s", out, want)
	}

	var got []map[string]string
	out = mustRun(t, "", "domain", "list", "--host-type", "premium", "-o", "json")
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("json output %q: %v", out, err)
	}
	if len(got) != 1 || got[0]["domain"] != "p.org" || got[0]["host_type"] != "premium" || got[0]["type"] != "dynamic" {
		t.Fatalf("filtered json = %v", got)
	}
	wantErr(t, "Unknown host type", "domain", "list", "--host-type", "nope")
}

func TestDomainShowJSON(t *testing.T) {
	f, _ := newFakeAPI(t)
	f.addDomains("basic", "example.org")
	out := mustRun(t, "", "domain", "show", "example.org", "-o", "json")
	want := "{\n  \"domain\": \"example.org\",\n  \"host_type\": \"basic\",\n  \"status\": \"enabled\"\n}\n"
	if out != want {
		t.Fatalf("show -o json = %q, want %q", out, want)
	}
}

func TestDomainPassword(t *testing.T) {
	f, _ := newFakeAPI(t)
	f.addDomains("basic", "example.org")

	mustRun(t, "s3cret\nsecond line ignored\n", "domain", "set-password", "example.org")
	if got := f.password("example.org"); got != "s3cret" {
		t.Fatalf("password from stdin = %q", got)
	}
	mustRun(t, "ignored\n", "domain", "set-password", "example.org", "--password", "flagpw")
	if got := f.password("example.org"); got != "flagpw" {
		t.Fatalf("password from flag = %q", got)
	}
	wantErr(t, errNoPassword.Error(), "domain", "set-password", "example.org")
	wantErr(t, "--password is empty", "domain", "set-password", "example.org", "--password", "")
	wantErr(t, "Given domain does not exist or is disabled", "domain", "set-password", "nope.org", "--password", "x")

	mustRun(t, "", "domain", "delete-password", "example.org")
	if f.password("example.org") != "" {
		t.Fatal("password still set")
	}
	wantErr(t, "Domain password does not exist", "domain", "delete-password", "example.org")
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "input")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDomainBulkAdd(t *testing.T) {
	f, _ := newFakeAPI(t)
	f.addDomains("basic", "old1.org", "old2.org")
	var lines []string
	for i := range 20 {
		lines = append(lines, fmt.Sprintf("d%02d.org", i))
	}
	file := writeFile(t, "# tenants\n\n"+strings.Join(lines, "\n")+"\n  old1.org  \nold2.org\nbad domain\n\n")

	out, stderr, err := run(t, "", "domain", "add", "--from-file", file, "--host-type", "basic")
	if out != "added 20, already existed 2, failed 1\n" {
		t.Fatalf("summary %q", out)
	}
	if err == nil || err.Error() != "1 of 23 domains failed" {
		t.Fatalf("error %v", err)
	}
	if stderr != "failed: line 25: bad domain: Invalid domain name\n" {
		t.Fatalf("stderr %q", stderr)
	}
	for _, d := range lines {
		if _, ok := f.domain(d); !ok {
			t.Errorf("%s not added", d)
		}
	}

	// Re-running the same clean input only finds duplicates: not a failure.
	clean := writeFile(t, strings.Join(lines, "\n"))
	if out := mustRun(t, "", "domain", "add", "--from-file", clean, "--host-type", "basic"); out != "added 0, already existed 20, failed 0\n" {
		t.Fatalf("re-run summary %q", out)
	}
}

func TestDomainBulkAddStdinAndJSON(t *testing.T) {
	f, _ := newFakeAPI(t)
	f.addDomains("basic", "old.org")
	out := mustRun(t, "new1.org\nold.org\nnew2.org\n", "domain", "add", "--from-file", "-", "--host-type", "basic", "-o", "json")
	var got struct {
		Added, AlreadyExisted, Failed int
		Failures                      []bulkFailure
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("json %q: %v", out, err)
	}
	for k, dst := range map[string]any{"added": &got.Added, "already_existed": &got.AlreadyExisted, "failed": &got.Failed, "failures": &got.Failures} {
		if err := json.Unmarshal(raw[k], dst); err != nil {
			t.Fatalf("key %s in %s: %v", k, out, err)
		}
	}
	if got.Added != 2 || got.AlreadyExisted != 1 || got.Failed != 0 || len(got.Failures) != 0 {
		t.Fatalf("json summary %s", out)
	}
	if _, ok := f.domain("new2.org"); !ok {
		t.Fatal("new2.org not added")
	}
}

// The pool must really run requests side by side, and never more than --workers.
func TestDomainBulkAddConcurrency(t *testing.T) {
	f, _ := newFakeAPI(t)
	const workers = 4
	var mu sync.Mutex
	inFlight, peak := 0, 0
	ready := make(chan struct{})
	f.mu.Lock()
	f.onAddDom = func() {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		if inFlight == workers {
			select {
			case <-ready:
			default:
				close(ready)
			}
		}
		mu.Unlock()
		<-ready // the first requests wait until the pool has `workers` of them in flight
		mu.Lock()
		inFlight--
		mu.Unlock()
	}
	f.mu.Unlock()
	var names []string
	for i := range 40 {
		names = append(names, fmt.Sprintf("c%d.org", i))
	}
	out := mustRun(t, strings.Join(names, "\n"), "domain", "add", "--from-file", "-", "--host-type", "basic", "--workers", fmt.Sprint(workers))
	if out != "added 40, already existed 0, failed 0\n" {
		t.Fatalf("summary %q", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if peak != workers {
		t.Fatalf("peak concurrency %d, want %d", peak, workers)
	}
}

func TestDomainBulkAddEmptyFile(t *testing.T) {
	newFakeAPI(t)
	file := writeFile(t, "# nothing\n\n")
	wantErr(t, "no domains in "+file, "domain", "add", "--from-file", file, "--host-type", "basic")
	wantErr(t, "--workers must be at least 1, got 0", "domain", "add", "--from-file", "-", "--host-type", "basic", "--workers", "0")
}
