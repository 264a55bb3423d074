package cmd

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// End-to-end tests of the real binary: build it, serve, drive it with its own CLI,
// kill it, restart it, back it up and restore it.

func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "mongoose-go")
	out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a loopback port nothing listens on, for a server process started
// later. It is picked below the kernel's ephemeral range: a port taken with :0 and
// closed could be handed to any other listener asking for :0 (the in-process test
// servers of the packages running beside this one do) before the process binds it,
// and the process would then fail with "address already in use", or a poll would
// reach someone else's server. Below the range, only another freePort could pick
// it, at random among thousands.
func freePort(t *testing.T) int {
	t.Helper()
	lo := 32768 // Linux's default start of net.ipv4.ip_local_port_range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				lo = n
			}
		}
	}
	const base = 10000
	if lo-base >= 1000 {
		for range 100 {
			port := base + rand.IntN(lo-base)
			if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				l.Close()
				return port
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type proc struct {
	cmd *exec.Cmd
	api string
	log *strings.Builder
}

func writeConfig(t *testing.T, dataDir string) (path, api string) {
	t.Helper()
	path, api, _ = writeConfigWith(t, dataDir, "")
	return path, api
}

// writeConfigWith adds extra TOML (modules, host_config) and also returns the c2s
// listener's address.
func writeConfigWith(t *testing.T, dataDir, extra string) (path, api, c2s string) {
	t.Helper()
	apiPort, c2sPort, clusterPort := freePort(t), freePort(t), freePort(t)
	cfg := fmt.Sprintf(`[general]
  hosts = ["localhost"]
  host_types = ["basic", "advanced"]
  default_server_domain = "localhost"
[auth.password]
  scram_iterations = 64
[[listen.c2s]]
  port = %d
  ip_address = "127.0.0.1"
[[listen.http]]
  ip_address = "127.0.0.1"
  port = %d
  [[listen.http.handlers.mongoose_admin_api]]
    host = "localhost"
    path = "/api"
[services.service_domain_db]
[cluster]
  node_name = "e2e@localhost"
  data_dir = %q
  listen = "127.0.0.1:%d"
`, c2sPort, apiPort, dataDir, clusterPort) + extra
	path = filepath.Join(t.TempDir(), "mongoose.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, fmt.Sprintf("http://127.0.0.1:%d/api", apiPort), fmt.Sprintf("127.0.0.1:%d", c2sPort)
}

func serve(t *testing.T, bin, cfgPath, api string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, "serve", "--config", cfgPath), api: api, log: &strings.Builder{}}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(api + "/status")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, p.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func cli(t *testing.T, bin, api string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, bin, args...)
	c.Env = append(os.Environ(), "MONGOOSE_API="+api)
	out, err := c.CombinedOutput()
	return string(out), err
}

func mustCLI(t *testing.T, bin, api string, args ...string) string {
	t.Helper()
	out, err := cli(t, bin, api, args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return out
}

func TestBinaryKillRestartBackupRestore(t *testing.T) {
	bin := buildBinary(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	cfgPath, api := writeConfig(t, dataDir)
	p := serve(t, bin, cfgPath, api)

	mustCLI(t, bin, api, "domain", "add", "example.org", "--host-type", "basic")
	mustCLI(t, bin, api, "domain", "add", "premium.example", "--host-type", "advanced")
	mustCLI(t, bin, api, "domain", "disable", "premium.example")
	mustCLI(t, bin, api, "user", "add", "alice@example.org", "--password", "secret")
	if out, err := cli(t, bin, api, "domain", "add", "example.org", "--host-type", "basic"); err == nil ||
		!strings.Contains(out, "Domain already exists") {
		t.Errorf("duplicate add: %v %s", err, out)
	}
	if out, err := cli(t, bin, api, "domain", "add", "x.org", "--host-type", "nope"); err == nil ||
		!strings.Contains(out, "Unknown host type") {
		t.Errorf("unknown host type: %v %s", err, out)
	}

	// kill -9: everything acknowledged must be there after the restart.
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	p = serve(t, bin, cfgPath, api)
	out := mustCLI(t, bin, api, "domain", "list", "-o", "json")
	for _, want := range []string{`"example.org"`, `"premium.example"`, `"disabled"`, `"localhost"`} {
		if !strings.Contains(out, want) {
			t.Errorf("after kill -9, domain list lacks %s:\n%s", want, out)
		}
	}
	if out := mustCLI(t, bin, api, "user", "list", "example.org"); !strings.Contains(out, "alice@example.org") {
		t.Errorf("after kill -9, users: %s", out)
	}

	// Backup refuses a running node, then works once it is stopped.
	backupFile := filepath.Join(t.TempDir(), "b.mgbk")
	if out, err := cli(t, bin, api, "backup", "--data-dir", dataDir, "--out", backupFile); err == nil ||
		!strings.Contains(out, "running") {
		t.Errorf("backup of a running node: %v %s", err, out)
	}
	if _, err := os.Stat(backupFile); !os.IsNotExist(err) {
		t.Error("backup of a running node left a file")
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("graceful stop: %v\n%s", err, p.log)
	}
	mustCLI(t, bin, api, "backup", "--data-dir", dataDir, "--out", backupFile)
	newDir := filepath.Join(t.TempDir(), "restored")
	mustCLI(t, bin, api, "restore", "--in", backupFile, "--data-dir", newDir)

	cfg2, api2 := writeConfig(t, newDir)
	serve(t, bin, cfg2, api2)
	out = mustCLI(t, bin, api2, "domain", "show", "premium.example", "-o", "json")
	if !strings.Contains(out, "disabled") {
		t.Errorf("restored premium.example: %s", out)
	}
	mustCLI(t, bin, api2, "domain", "add", "after-restore.org", "--host-type", "basic")
	if out := mustCLI(t, bin, api2, "user", "list", "example.org"); !strings.Contains(out, "alice@example.org") {
		t.Errorf("restored users: %s", out)
	}
}

func TestBinaryBadInput(t *testing.T) {
	bin := buildBinary(t)
	out, err := cli(t, bin, "http://127.0.0.1:1/api", "domain", "list")
	if err == nil || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "cannot reach") {
		t.Errorf("unreachable API: %v %q", err, out)
	}
	out, err = cli(t, bin, "", "domain", "add", "x.org", "--bogus")
	if err == nil || !strings.Contains(out, "unknown flag") {
		t.Errorf("bad flag: %v %q", err, out)
	}
	out, err = cli(t, bin, "", "serve", "--config", "../testdata/config/errors/missing_default_server_domain.toml")
	if err == nil || !strings.Contains(out, "default_server_domain") {
		t.Errorf("bad config: %v %q", err, out)
	}
}
