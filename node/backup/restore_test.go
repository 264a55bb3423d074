package backup

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/raftfsm"
)

func TestRestoreRefusesNonEmptyDir(t *testing.T) {
	out, _ := backupOf(t)
	dst := t.TempDir()
	buildStore(t, dst, 2, fixture()[:1])
	if err := os.WriteFile(filepath.Join(dst, "notes.txt"), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := tree(t, dst)
	_, err := Restore(out, dst, RestoreOptions{})
	if !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("Restore into a non-empty dir: %v, want ErrNotEmpty", err)
	}
	checkTree(t, dst, before)
}

func TestRestoreIntoEmptyExistingDir(t *testing.T) {
	out, _ := backupOf(t)
	dst := t.TempDir()
	if _, err := Restore(out, dst, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	checkState(t, filepath.Join(dst, storeFile))
}

func TestRestoreForceReplacesStoreAndRaft(t *testing.T) {
	out, _ := backupOf(t)
	dst := t.TempDir()
	buildStore(t, dst, 2, fixture()[:2]) // an older, smaller state
	raftDirWith(t, dst, map[uint64][]string{1: {"old"}}, nil, 0)
	if err := os.WriteFile(filepath.Join(dst, "notes.txt"), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(out, dst, RestoreOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	checkState(t, filepath.Join(dst, storeFile))
	if exists(filepath.Join(dst, raftDir)) {
		t.Fatal("old raft dir survived a forced restore")
	}
	if !exists(filepath.Join(dst, "notes.txt")) {
		t.Fatal("forced restore removed a file it does not own")
	}
}

func TestRestoreForceNodeRunning(t *testing.T) {
	out, _ := backupOf(t)
	dst := t.TempDir()
	buildStore(t, dst, 2, fixture()[:2])
	db, err := raftfsm.OpenDB(filepath.Join(dst, storeFile), false)
	if err != nil {
		t.Fatal(err)
	}
	before := tree(t, dst) // opening wrote to the file, as a starting node does
	_, err = Restore(out, dst, RestoreOptions{Force: true})
	db.Close()
	if !errors.Is(err, ErrNodeRunning) {
		t.Fatalf("forced Restore over a running node: %v, want ErrNodeRunning", err)
	}
	checkTree(t, dst, before)
}

// rewrite returns a copy of the backup at path changed by edit.
func rewrite(t *testing.T, path string, edit func([]byte) []byte) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "edited.bak")
	if err := os.WriteFile(p, edit(b), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRestoreRejectsBadFiles(t *testing.T) {
	good, h := backupOf(t)
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	prefix, err := encodePrefix(Header{Format: h.Format, Node: h.Node, AppliedIndex: h.AppliedIndex,
		AppliedTerm: h.AppliedTerm, Created: h.Created, Size: h.Size})
	if err != nil {
		t.Fatal(err)
	}
	body := raw[len(prefix) : len(prefix)+int(h.Size)]
	flip := func(off int) func([]byte) []byte {
		return func(b []byte) []byte { b[off] ^= 0x01; return b }
	}
	// A bbolt file that is not a store, and bytes that are not bbolt at all.
	foreignPath := filepath.Join(t.TempDir(), "foreign.db")
	fdb, err := bolt.Open(foreignPath, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := fdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err }); err != nil {
		t.Fatal(err)
	}
	fdb.Close()
	foreign, err := os.ReadFile(foreignPath)
	if err != nil {
		t.Fatal(err)
	}
	garbage := []byte(strings.Repeat("not a bbolt file ", 2000))
	hdr := func(size int) Header {
		return Header{Format: FormatVersion, Created: time.Now(), Size: int64(size)}
	}

	// content marks problems only Restore sees, because it opens the store: Verify
	// checks the file, not what the store inside it is.
	cases := []struct {
		name    string
		file    string
		want    error
		msg     string
		content bool
	}{
		{"empty file", rewrite(t, good, func([]byte) []byte { return nil }), ErrCorrupt, "too short", false},
		{"wrong magic", rewrite(t, good, flip(0)), ErrCorrupt, "bad magic", false},
		{"huge header length", rewrite(t, good, flip(8)), ErrCorrupt, "header length", false},
		{"truncated in header", rewrite(t, good, func(b []byte) []byte { return b[:20] }), ErrCorrupt, "truncated header", false},
		{"truncated in store", rewrite(t, good, func(b []byte) []byte { return b[:len(prefix)+100] }), ErrCorrupt, "truncated", false},
		{"trailer cut off", rewrite(t, good, func(b []byte) []byte { return b[:len(b)-1] }), ErrCorrupt, "truncated", false},
		{"padded", rewrite(t, good, func(b []byte) []byte { return append(b, 0) }), ErrCorrupt, "padded", false},
		{"flipped store byte", rewrite(t, good, flip(len(prefix)+int(h.Size)/2)), ErrCorrupt, "checksum mismatch", false},
		{"flipped header byte", rewrite(t, good, func(b []byte) []byte {
			i := strings.Index(string(b[:len(prefix)]), `"applied_term":3`)
			b[i+len(`"applied_term":`)] = '4'
			return b
		}), ErrCorrupt, "checksum mismatch", false},
		{"flipped checksum byte", rewrite(t, good, flip(len(raw)-1)), ErrCorrupt, "checksum mismatch", false},
		{"bad trailer magic", rewrite(t, good, flip(len(raw)-trailerLen)), ErrCorrupt, "bad trailer", false},
		{"newer format", craft(t, Header{Format: FormatVersion + 1, Size: h.Size}, body), ErrVersion, "unsupported", false},
		{"no format", craft(t, Header{Size: h.Size}, body), ErrCorrupt, "no format", false},
		{"not bbolt", craft(t, hdr(len(garbage)), garbage), ErrCorrupt, "not a bbolt file", true},
		{"bbolt but not a store", craft(t, hdr(len(foreign)), foreign), ErrCorrupt, "not a mongoose-go store", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			// One target that exists (empty) and one that does not: both untouched.
			existing := filepath.Join(parent, "existing")
			if err := os.Mkdir(existing, 0o700); err != nil {
				t.Fatal(err)
			}
			before := tree(t, parent)
			for _, dst := range []string{existing, filepath.Join(parent, "missing")} {
				_, err := Restore(c.file, dst, RestoreOptions{})
				if !errors.Is(err, c.want) {
					t.Fatalf("Restore into %s: %v, want %v", dst, err, c.want)
				}
				if !strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), "\n") {
					t.Errorf("message %q should be one line mentioning %q", err, c.msg)
				}
				checkTree(t, parent, before)
			}
			if _, err := Verify(c.file); !c.content && !errors.Is(err, c.want) {
				t.Errorf("Verify: %v, want %v", err, c.want)
			}
		})
	}
}

func TestReadHeaderChecksFileNotContent(t *testing.T) {
	good, h := backupOf(t)
	got, err := ReadHeader(good)
	if err != nil || got.Checksum != h.Checksum || got.AppliedIndex != h.AppliedIndex {
		t.Fatalf("ReadHeader: %+v, %v; want %+v", got, err, h)
	}
	cut := rewrite(t, good, func(b []byte) []byte { return b[:len(b)-10] })
	if _, err := ReadHeader(cut); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadHeader of a truncated file: %v", err)
	}
	// ReadHeader does not hash the store (Verify does): a flipped store byte passes it.
	flipped := rewrite(t, good, func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
	if _, err := ReadHeader(flipped); err != nil {
		t.Fatalf("ReadHeader: %v", err)
	}
	if _, err := Verify(flipped); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Verify of a flipped byte: %v", err)
	}
}
