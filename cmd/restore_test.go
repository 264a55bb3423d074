package cmd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/node/backup"
)

// bkBackup backs up a small store and returns the file.
func bkBackup(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "s.bak")
	mustRun(t, "", "backup", "--data-dir", bkStore(t, "a.example", "b.example", "c.example"), "--out", out)
	return out
}

func TestRestoreNonEmptyNeedsForce(t *testing.T) {
	in := bkBackup(t)
	dst := bkStore(t, "old.example")
	if err := os.MkdirAll(filepath.Join(dst, node.RaftDir), 0o700); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dst, node.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, "", "restore", "--in", in, "--data-dir", dst)
	if !errors.Is(err, backup.ErrNotEmpty) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("restore into a used data dir: %v", err)
	}
	after, err := os.ReadFile(filepath.Join(dst, node.StoreFile))
	if err != nil || string(after) != string(before) || !bkExists(filepath.Join(dst, node.RaftDir)) {
		t.Fatalf("refused restore changed %s (%v)", dst, err)
	}

	stdout := mustRun(t, "", "restore", "--in", in, "--data-dir", dst, "--force")
	if !strings.Contains(stdout, "applied index 3 (term 1)") {
		t.Fatalf("restore printed %q", stdout)
	}
	if bkExists(filepath.Join(dst, node.RaftDir)) {
		t.Fatal("--force kept the old raft dir")
	}
	// The restored store is the backup's: backing it up again gives its domains' index.
	again := filepath.Join(t.TempDir(), "again.bak")
	mustRun(t, "", "backup", "--data-dir", dst, "--out", again)
	if h, err := backup.ReadHeader(again); err != nil || h.AppliedIndex != 0 {
		t.Fatalf("restored store header %+v, %v: applied index should be reset", h, err)
	}
}

func TestRestoreCorruptFile(t *testing.T) {
	in := bkBackup(t)
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.bak")
	if err := os.WriteFile(cut, b[:len(b)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "dst")
	_, _, err = run(t, "", "restore", "--in", cut, "--data-dir", dst)
	if !errors.Is(err, backup.ErrCorrupt) || strings.Contains(err.Error(), "\n") ||
		!strings.HasPrefix(err.Error(), cut+": backup file is corrupt: file is ") {
		t.Fatalf("restore of a truncated file: %v", err)
	}
	if bkExists(dst) {
		t.Fatal("failed restore created the data dir")
	}
	_, _, err = run(t, "", "restore", "--in", cut, "--verify-only")
	if !errors.Is(err, backup.ErrCorrupt) {
		t.Fatalf("verify of a truncated file: %v", err)
	}
}

func TestRestoreVerifyOnly(t *testing.T) {
	in := bkBackup(t)
	stdout := mustRun(t, "", "restore", "--in", in, "--verify-only")
	if !strings.HasPrefix(stdout, "backup "+in+" is intact: ") || !strings.Contains(stdout, "applied index 3 (term 1)") ||
		!strings.Contains(stdout, "sha256:") {
		t.Fatalf("verify printed %q", stdout)
	}
	wantErr(t, "--data-dir is required (or --verify-only)", "restore", "--in", in)
	wantErr(t, `required flag(s) "in" not set`, "restore", "--data-dir", t.TempDir())
	wantErr(t, "if any flags in the group [verify-only data-dir] are set none of the others can be; [data-dir verify-only] were all set",
		"restore", "--in", in, "--verify-only", "--data-dir", t.TempDir())
}
