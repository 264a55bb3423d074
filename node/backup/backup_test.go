package backup

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/raftfsm"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	idx := buildStore(t, src, 7, fixture())
	checkState(t, filepath.Join(src, storeFile))
	before := tree(t, src)

	out := filepath.Join(dir, "state.bak")
	start := time.Now().UTC().Truncate(time.Second)
	h, err := Write(src, out, Options{Node: "n1", Generator: "mongoose-go test"})
	if err != nil {
		t.Fatal(err)
	}
	checkTree(t, src, before) // backup never writes to the source
	if h.Format != FormatVersion || h.Node != "n1" || h.Generator != "mongoose-go test" ||
		h.AppliedIndex != idx || h.AppliedTerm != 7 || h.Size <= 0 ||
		h.Created.Before(start) || !strings.HasPrefix(h.Checksum, "sha256:") {
		t.Fatalf("header %+v (applied index %d)", h, idx)
	}
	if exists(out + ".tmp") {
		t.Fatal("temporary file left behind")
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600: it holds credentials", st.Mode().Perm())
	}
	read, err := ReadHeader(out)
	if err != nil {
		t.Fatal(err)
	}
	if !read.Created.Equal(h.Created) {
		t.Fatalf("created %v, read back %v", h.Created, read.Created)
	}
	read.Created = h.Created
	if read != h {
		t.Fatalf("ReadHeader %+v, Write returned %+v", read, h)
	}
	if v, err := Verify(out); err != nil || v.Checksum != h.Checksum {
		t.Fatalf("Verify: %+v, %v", v, err)
	}

	dst := filepath.Join(dir, "new", "data")
	rh, err := Restore(out, dst, RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rh.Checksum != h.Checksum || rh.AppliedIndex != idx {
		t.Fatalf("Restore header %+v, want %+v", rh, h)
	}
	entries, err := os.ReadDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != storeFile {
		t.Fatalf("restored dir holds %v, want only %s", entries, storeFile)
	}
	checkState(t, filepath.Join(dst, storeFile))
	if _, i, tm := readState(t, filepath.Join(dst, storeFile)); i != 0 || tm != 0 {
		t.Fatalf("restored applied index %d/%d, want 0/0", i, tm)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "new", ".*restore*")); len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}

	// The restored store is a working FSM store: new entries from index 1 apply.
	fsm, err := raftfsm.Open(filepath.Join(dst, storeFile), raftfsm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fsm.Close()
	fsm.ApplyBatch([]*raft.Log{{Index: 1, Term: 1, Type: raft.LogNoop}})
	if i, tm := fsm.AppliedIndex(); i != 1 || tm != 1 {
		t.Fatalf("applied index after first new entry %d/%d, want 1/1", i, tm)
	}
}

func TestWriteOverwritesExistingBackup(t *testing.T) {
	out, first := backupOf(t)
	dir := t.TempDir()
	buildStore(t, dir, 9, fixture()[:2])
	h, err := Write(dir, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Checksum == first.Checksum || h.AppliedTerm != 9 {
		t.Fatalf("second backup %+v looks like the first %+v", h, first)
	}
	if got, err := Verify(out); err != nil || got.Checksum != h.Checksum {
		t.Fatalf("Verify: %+v, %v", got, err)
	}
}

func TestWriteNodeRunning(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	buildStore(t, data, 1, fixture())
	db, err := raftfsm.OpenDB(filepath.Join(data, storeFile), false) // what a running node holds
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	out := filepath.Join(dir, "state.bak")
	_, err = Write(data, out, Options{})
	if !errors.Is(err, ErrNodeRunning) {
		t.Fatalf("Write with the store locked: %v, want ErrNodeRunning", err)
	}
	if !strings.Contains(err.Error(), "stop it") || strings.Contains(err.Error(), "\n") {
		t.Errorf("message %q should be one line telling to stop the node", err)
	}
	if exists(out) || exists(out+".tmp") {
		t.Fatal("Write left output behind")
	}
}

func TestWriteRefusesMissingOrForeignStore(t *testing.T) {
	empty := t.TempDir()
	out := filepath.Join(t.TempDir(), "x.bak")
	if _, err := Write(empty, out, Options{}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Write of an empty data dir: %v", err)
	}
	if exists(filepath.Join(empty, storeFile)) {
		t.Fatal("Write created a store file in the source data dir")
	}

	foreign := t.TempDir()
	db, err := bolt.Open(filepath.Join(foreign, storeFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Write(foreign, out, Options{}); !errors.Is(err, ErrNotStore) {
		t.Fatalf("Write of a foreign bbolt file: %v, want ErrNotStore", err)
	}
	if exists(out) || exists(out+".tmp") {
		t.Fatal("Write left output behind")
	}
}

func TestWriteRefusesStoreAsOutput(t *testing.T) {
	data := t.TempDir()
	buildStore(t, data, 1, fixture())
	path := filepath.Join(data, storeFile)
	before := tree(t, data)
	if _, err := Write(data, path, Options{}); err == nil {
		t.Fatal("Write over its own store succeeded")
	}
	checkTree(t, data, before)
}

func TestProgress(t *testing.T) {
	out, h := backupOf(t)
	var total int64
	var seen bytes.Buffer
	progress := func(n int64) io.Writer { total = n; return &seen }

	data := t.TempDir()
	buildStore(t, data, 1, fixture())
	wh, err := Write(data, filepath.Join(t.TempDir(), "b.bak"), Options{Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	if total != wh.Size || int64(seen.Len()) != wh.Size {
		t.Fatalf("backup progress: total %d, fed %d, store %d", total, seen.Len(), wh.Size)
	}

	total = 0
	seen.Reset()
	if _, err := Restore(out, filepath.Join(t.TempDir(), "d"), RestoreOptions{Progress: progress}); err != nil {
		t.Fatal(err)
	}
	if total != h.Size || int64(seen.Len()) != h.Size {
		t.Fatalf("restore progress: total %d, fed %d, store %d", total, seen.Len(), h.Size)
	}
	// What restore fed the bar is the store image: it starts with a bbolt meta page.
	if !bytes.Equal(seen.Bytes()[16:20], []byte{0xed, 0xda, 0x0c, 0xed}) {
		t.Fatalf("restore progress was not fed the store image: % x", seen.Bytes()[:32])
	}
}

// raftDirWith writes a raft dir whose log runs up to the highest index in entries, with
// a configuration entry wherever entries has servers (nil: a command entry) and, if
// snap is not nil, a snapshot whose configuration sits at snapIndex.
func raftDirWith(t *testing.T, data string, entries map[uint64][]string, snap []string, snapIndex uint64) {
	t.Helper()
	dir := filepath.Join(data, raftDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := func(ids []string) raft.Configuration {
		var c raft.Configuration
		for _, id := range ids {
			c.Servers = append(c.Servers, raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(id + ":7946"), Suffrage: raft.Voter})
		}
		return c
	}
	logs, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	var last uint64
	for idx := range entries {
		last = max(last, idx)
	}
	for i := uint64(1); i <= last; i++ {
		l := &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte{0x80}}
		if ids := entries[i]; ids != nil {
			l.Type, l.Data = raft.LogConfiguration, raft.EncodeConfiguration(conf(ids))
		}
		if err := logs.StoreLog(l); err != nil {
			t.Fatal(err)
		}
	}
	if snap == nil {
		return
	}
	snaps, err := raft.NewFileSnapshotStore(dir, 2, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, trans := raft.NewInmemTransport("")
	sink, err := snaps.Create(raft.SnapshotVersionMax, snapIndex, 1, conf(snap), snapIndex, trans)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sink.Write([]byte("snapshot")); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNodeNameFromRaft(t *testing.T) {
	cases := []struct {
		name      string
		entries   map[uint64][]string
		snap      []string
		snapIndex uint64
		opt, want string
	}{
		{name: "no raft dir", want: ""},
		{name: "bootstrapped one-node", entries: map[uint64][]string{1: {"n1"}}, want: "n1"},
		{name: "flag wins", entries: map[uint64][]string{1: {"n1"}}, opt: "given", want: "given"},
		{name: "three servers", entries: map[uint64][]string{1: {"n1"}, 4: {"n1", "n2", "n3"}}, want: ""},
		{name: "last config in log", entries: map[uint64][]string{1: {"n1", "n2"}, 5: {"n2"}, 6: nil}, want: "n2"},
		{name: "snapshot newer than log config", entries: map[uint64][]string{1: {"n1"}, 9: nil}, snap: []string{"s1"}, snapIndex: 6, want: "s1"},
		{name: "log config newer than snapshot", entries: map[uint64][]string{1: {"n1"}, 8: {"l1"}}, snap: []string{"s1", "s2"}, snapIndex: 6, want: "l1"},
		{name: "snapshot only", snap: []string{"s1"}, snapIndex: 3, want: "s1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := t.TempDir()
			buildStore(t, data, 1, fixture()[:1])
			if c.entries != nil || c.snap != nil {
				raftDirWith(t, data, c.entries, c.snap, c.snapIndex)
			}
			h, err := Write(data, filepath.Join(t.TempDir(), "b.bak"), Options{Node: c.opt})
			if err != nil {
				t.Fatal(err)
			}
			if h.Node != c.want {
				t.Fatalf("node %q, want %q", h.Node, c.want)
			}
		})
	}
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	f.n += len(p)
	return 0, errors.New("terminal gone")
}

// A broken progress display (a closed terminal) must not fail the operation.
func TestProgressErrorsIgnored(t *testing.T) {
	out, h := backupOf(t)
	fw := &failingWriter{}
	if _, err := Restore(out, filepath.Join(t.TempDir(), "d"), RestoreOptions{
		Progress: func(int64) io.Writer { return fw },
	}); err != nil {
		t.Fatal(err)
	}
	if int64(fw.n) != h.Size {
		t.Fatalf("progress was fed %d bytes, want %d", fw.n, h.Size)
	}
	data := t.TempDir()
	buildStore(t, data, 1, fixture())
	if _, err := Write(data, filepath.Join(t.TempDir(), "b.bak"), Options{
		Progress: func(int64) io.Writer { return &failingWriter{} },
	}); err != nil {
		t.Fatal(err)
	}
}

// A store its node left open when the machine went down may be torn (it is written
// without fsync; the raft log is the durable copy): backup refuses it until the node
// has rebuilt it.
func TestWriteRefusesUntrustedStore(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	buildStore(t, src, 7, fixture())
	if err := os.WriteFile(filepath.Join(src, storeFile)+".open", []byte("another-boot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "x.bak")
	if _, err := Write(src, out, Options{}); !errors.Is(err, raftfsm.ErrUntrusted) {
		t.Fatalf("Write of an untrusted store: %v", err)
	}
	if exists(out) || exists(out+".tmp") {
		t.Fatal("Write left output behind")
	}
}
