package cmd

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/server"
)

// The CLI against a real node started in this process.
func TestCLIAgainstInProcessServer(t *testing.T) {
	cfg := server.TestConfig(t.TempDir())
	cfg.General.HostTypes = []string{"basic", "advanced"}
	s, err := server.Start(cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	api := "http://" + s.AdminAddrs()[0] + "/api"
	run := func(args ...string) (string, error) {
		return runCLI(t, append(args, "--api", api)...)
	}
	dir := t.TempDir()
	domains := filepath.Join(dir, "domains.txt")
	os.WriteFile(domains, []byte("# tenants\na.example\nb.example\n\nc.example\n"), 0o600)
	if out, err := run("domain", "add", "--from-file", domains, "--host-type", "basic"); err != nil ||
		!strings.Contains(out, "added 3, already existed 0, failed 0") {
		t.Fatalf("bulk add: %v\n%s", err, out)
	}
	if out, err := run("domain", "add", "--from-file", domains, "--host-type", "basic"); err != nil ||
		!strings.Contains(out, "added 0, already existed 3, failed 0") {
		t.Fatalf("bulk re-add: %v\n%s", err, out)
	}
	users := filepath.Join(dir, "users.csv")
	os.WriteFile(users, []byte("user,domain,password\nalice,a.example,pw1\nbob,b.example,pw2\nzed,nowhere.example,pw\n"), 0o600)
	out, err := run("user", "import", users)
	if err == nil || !strings.Contains(out, "imported 2, already existed 0, failed 1") {
		t.Fatalf("import with one bad domain: %v\n%s", err, out)
	}
	if out, err := run("user", "list", "a.example"); err != nil || strings.TrimSpace(out) != "alice@a.example" {
		t.Errorf("user list: %v %q", err, out)
	}
	if out, err := run("host-type", "list", "-o", "json"); err != nil || !strings.Contains(out, `"domains": 3`) {
		t.Errorf("host-type list: %v\n%s", err, out)
	}
	if out, err := run("domain", "remove", "a.example", "--host-type", "advanced"); err == nil ||
		!strings.Contains(err.Error(), "Wrong host type was provided") {
		t.Errorf("remove with wrong host type: %v\n%s", err, out)
	}
	if _, err := run("domain", "remove", "a.example", "--host-type", "basic"); err != nil {
		t.Fatal(err)
	}
	if out, err := run("user", "list", "a.example"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("users of a removed domain: %v %q", err, out)
	}
	if out, err := run("status", "-o", "json"); err != nil || !strings.Contains(out, `"raft_state": "Leader"`) {
		t.Errorf("status: %v\n%s", err, out)
	}
}
