package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/node/backup"
	"github.com/mongoose-go/mongoose-go/raftfsm"
	"github.com/mongoose-go/mongoose-go/store"
)

// bkStore writes a store with the given domains into a new data dir, applied through
// the FSM as raft would, and returns the dir.
func bkStore(t *testing.T, domains ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	fsm, err := raftfsm.Open(filepath.Join(dir, node.StoreFile), raftfsm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fsm.Close()
	for i, d := range domains {
		data, err := raftfsm.Encode(&store.AddDomain{Name: d, HostType: "type1"})
		if err != nil {
			t.Fatal(err)
		}
		fsm.ApplyBatch([]*raft.Log{{Index: uint64(i + 1), Term: 1, Type: raft.LogCommand, Data: data}})
	}
	return dir
}

func bkExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func bkOpenNode(t *testing.T, name, dataDir string) *node.Node {
	t.Helper()
	n, err := node.Open(node.Options{
		NodeName:  name,
		DataDir:   dataDir,
		RaftAddr:  "127.0.0.1:0",
		HostTypes: []string{"type1"},
		Logger:    slog.New(slog.DiscardHandler),
		// Cheap SCRAM: the test is about the store, not hashing.
		Auth: func(string) node.AuthPolicy { return node.AuthPolicy{Hashes: []string{"sha256"}, Iterations: 64} },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitLeader(ctx); err != nil {
		n.Close()
		t.Fatal(err)
	}
	return n
}

// A data dir made by a real node backs up (refused while the node runs), restores, and
// the restored dir boots as a new one-node cluster with all the state and takes writes.
func TestBackupRestoreRealNode(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	n := bkOpenNode(t, "n1@test", src)
	for _, d := range []string{"a.example", "b.example"} {
		if err := n.AddDomain(ctx, d, "type1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.RegisterUser(ctx, "a.example", "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	if err := n.SetDomainEnabled(ctx, "b.example", false); err != nil {
		t.Fatal(err)
	}
	applied := n.Status().AppliedIndex

	out := filepath.Join(dir, "node.bak")
	_, _, err := run(t, "", "backup", "--data-dir", src, "--out", out)
	if !errors.Is(err, backup.ErrNodeRunning) ||
		err.Error() != "node is running (state.db is locked): stop it before taking an offline backup" {
		n.Close()
		t.Fatalf("backup of a running node: %v", err)
	}
	if bkExists(out) || bkExists(out+".tmp") {
		t.Fatal("refused backup left a file")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	// No --node-name: the one-node raft configuration names the node.
	stdout := mustRun(t, "", "backup", "--data-dir", src, "--out", out)
	want := fmt.Sprintf("backup %s written: ", out)
	if !strings.HasPrefix(stdout, want) || !strings.Contains(stdout, "node n1@test, ") ||
		!strings.Contains(stdout, fmt.Sprintf("applied index %d (term ", applied)) || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("backup printed %q", stdout)
	}

	dst := filepath.Join(dir, "restored")
	stdout = mustRun(t, "", "restore", "--in", out, "--data-dir", dst)
	if !strings.HasPrefix(stdout, fmt.Sprintf("restored %s into %s: ", out, dst)) ||
		!strings.Contains(stdout, fmt.Sprintf("applied index %d", applied)) {
		t.Fatalf("restore printed %q", stdout)
	}
	if bkExists(filepath.Join(dst, node.RaftDir)) {
		t.Fatal("restore wrote a raft dir")
	}

	n2 := bkOpenNode(t, "n2@test", dst)
	defer n2.Close()
	if d, err := n2.Domain("a.example"); err != nil || d.Status != store.StatusEnabled {
		t.Fatalf("a.example after restore: %+v, %v", d, err)
	}
	if d, err := n2.Domain("b.example"); err != nil || d.Status != store.StatusDisabled {
		t.Fatalf("b.example after restore: %+v, %v", d, err)
	}
	if !n2.CheckPassword("a.example", "alice", "secret") {
		t.Fatal("alice's password did not survive the restore")
	}
	// The new cluster's log starts again at 1: writes apply instead of being skipped
	// as "already applied", and see the restored state.
	if err := n2.AddDomain(ctx, "c.example", "type1"); err != nil {
		t.Fatal(err)
	}
	if _, err := n2.RegisterUser(ctx, "a.example", "alice", "other"); !errors.Is(err, store.ErrUserExists) {
		t.Fatalf("re-registering alice: %v, want ErrUserExists", err)
	}
	if st := n2.Status(); st.Node != "n2@test" || st.Leader != "n2@test" || st.Domains != 3 {
		t.Fatalf("restored node status %+v", st)
	}
}

func TestBackupFlags(t *testing.T) {
	data := bkStore(t, "a.example")
	out := filepath.Join(t.TempDir(), "x.bak")
	wantErr(t, "--data-dir (or --config) is required", "backup", "--out", out)
	wantErr(t, `required flag(s) "out" not set`, "backup", "--data-dir", data)
	wantErr(t, `unknown flag: --in`, "backup", "--data-dir", data, "--in", out)

	stdout := mustRun(t, "", "backup", "--data-dir", data, "--out", out, "--node-name", "given@node")
	if !strings.Contains(stdout, "node given@node, ") || !strings.Contains(stdout, "applied index 1 (term 1)") {
		t.Fatalf("backup printed %q", stdout)
	}
	if h, err := backup.ReadHeader(out); err != nil || h.Node != "given@node" || h.Generator != "mongoose-go "+Version {
		t.Fatalf("header %+v, %v", h, err)
	}

	empty := t.TempDir()
	_, _, err := run(t, "", "backup", "--data-dir", empty, "--out", out+"2")
	if err == nil || !strings.Contains(err.Error(), "no store in data dir "+empty) {
		t.Fatalf("backup of an empty dir: %v", err)
	}
}

// --config supplies the data dir and node name; flags override it.
func TestBackupFromConfig(t *testing.T) {
	data := bkStore(t, "a.example", "b.example")
	cfg := filepath.Join(t.TempDir(), "mongoose.toml")
	body := fmt.Sprintf(`[general]
  hosts = ["localhost"]
  default_server_domain = "localhost"
[auth]
  methods = ["internal"]
[cluster]
  node_name = "cfg@node"
  data_dir = %q
`, data)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "cfg.bak")
	stdout := mustRun(t, "", "backup", "--config", cfg, "--out", out)
	if !strings.Contains(stdout, "node cfg@node, ") || !strings.Contains(stdout, "applied index 2 ") {
		t.Fatalf("backup printed %q", stdout)
	}
	stdout = mustRun(t, "", "backup", "--config", cfg, "--out", out, "--node-name", "flag@node")
	if !strings.Contains(stdout, "node flag@node, ") {
		t.Fatalf("backup printed %q", stdout)
	}
}
