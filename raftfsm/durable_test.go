package raftfsm

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/mongoose-go/mongoose-go/store"
)

// TestOpenMarkerLifecycle: an open store has a marker holding the boot id; a clean
// close removes it; a marker from this boot (a process crash) is trusted and the data
// kept; one from another boot (a machine crash) sets the file aside.
func TestOpenMarkerLifecycle(t *testing.T) {
	if _, ok := bootID(); !ok {
		t.Skip("no boot id on this system: the store fsyncs every commit")
	}
	path := filepath.Join(t.TempDir(), "state.db")
	f, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Rebuilt() {
		t.Error("a new store reported rebuilt")
	}
	if _, err := os.Stat(path + markerSuffix); err != nil {
		t.Fatalf("no marker while open: %v", err)
	}
	if r := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: mustEncode(t, &store.AddDomain{Name: "a.com", HostType: "basic"})}); r.(Result).Err != nil {
		t.Fatal(r)
	}
	// A process crash: the file is not closed, the marker stays, same boot.
	f.db.Close()
	if err := CheckTrusted(path); err != nil {
		t.Fatalf("same boot: %v", err)
	}
	f, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if idx, _ := f.AppliedIndex(); f.Rebuilt() || idx != 1 {
		t.Fatalf("after a process crash: rebuilt %v, applied %d", f.Rebuilt(), idx)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + markerSuffix); !os.IsNotExist(err) {
		t.Fatalf("marker after a clean close: %v", err)
	}

	// A machine crash: the marker names another boot.
	if err := os.WriteFile(path+markerSuffix, []byte("another-boot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckTrusted(path); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("other boot: %v", err)
	}
	f, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if idx, _ := f.AppliedIndex(); !f.Rebuilt() || idx != 0 {
		t.Fatalf("after a machine crash: rebuilt %v, applied %d", f.Rebuilt(), idx)
	}
	if _, err := os.Stat(path + ".untrusted"); err != nil {
		t.Errorf("old file not kept aside: %v", err)
	}
}

func mustEncode(t *testing.T, m store.Mutation) []byte {
	t.Helper()
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
