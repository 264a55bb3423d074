package raftfsm

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
)

func openFSM(t *testing.T, opts Options) *FSM {
	t.Helper()
	f, err := Open(filepath.Join(t.TempDir(), "state.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func entries(t *testing.T, first uint64, ms ...store.Mutation) []*raft.Log {
	t.Helper()
	logs := make([]*raft.Log, len(ms))
	for i, m := range ms {
		data, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		logs[i] = &raft.Log{Index: first + uint64(i), Term: 1, Type: raft.LogCommand, Data: data}
	}
	return logs
}

func domain(t *testing.T, f *FSM, name string) (store.Domain, bool) {
	t.Helper()
	var d store.Domain
	var ok bool
	if err := f.View(func(tx *bolt.Tx) error { d, ok = store.GetDomain(tx, name); return nil }); err != nil {
		t.Fatal(err)
	}
	return d, ok
}

func TestApplyBatchResultsAndIndex(t *testing.T) {
	var seen []Applied
	f := openFSM(t, Options{OnApplied: func(a []Applied) { seen = append(seen, a...) }})
	res := f.ApplyBatch(entries(t, 1,
		&store.AddDomain{Name: "a.com", HostType: "basic"},
		&store.AddDomain{Name: "a.com", HostType: "advanced"}, // duplicate: domain error
		&store.SetDomainEnabled{Name: "a.com", Enabled: false},
		&store.SetDomainEnabled{Name: "nope.com", Enabled: true},
	))
	wantErrs := []error{nil, store.ErrDomainExists, nil, store.ErrDomainNotFound}
	for i, want := range wantErrs {
		r := res[i].(Result)
		if !errors.Is(r.Err, want) || (want == nil && r.Err != nil) {
			t.Errorf("entry %d: err = %v, want %v", i+1, r.Err, want)
		}
	}
	if idx, term := f.AppliedIndex(); idx != 4 || term != 1 {
		t.Errorf("applied = %d/%d, want 4/1", idx, term)
	}
	d, ok := domain(t, f, "a.com")
	if !ok || d.HostType != "basic" || d.Status != store.StatusDisabled {
		t.Errorf("a.com = %+v %v", d, ok)
	}
	if len(seen) != 4 {
		t.Errorf("observer saw %d entries, want 4", len(seen))
	}
}

func TestReplayedEntriesAreSkipped(t *testing.T) {
	f := openFSM(t, Options{})
	f.ApplyBatch(entries(t, 1, &store.AddDomain{Name: "a.com", HostType: "basic"}))
	// The same index again (raft replaying after a restart without snapshot restore)
	// must not run the mutation a second time: here it would report a duplicate.
	res := f.ApplyBatch(entries(t, 1, &store.AddDomain{Name: "a.com", HostType: "basic"}))
	if res[0] != nil {
		t.Fatalf("replayed entry produced %v", res[0])
	}
	res = f.ApplyBatch(entries(t, 2, &store.AddDomain{Name: "b.com", HostType: "basic"}))
	if r := res[0].(Result); r.Err != nil {
		t.Fatal(r.Err)
	}
}

type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { return nil }

func TestSnapshotRestore(t *testing.T) {
	src := openFSM(t, Options{})
	src.ApplyBatch(entries(t, 1,
		&store.AddDomain{Name: "a.com", HostType: "basic"},
		&store.AddUser{Domain: "a.com", User: "alice", Creds: "x"},
	))
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Writes after the snapshot started must not leak into it.
	src.ApplyBatch(entries(t, 3, &store.AddDomain{Name: "late.com", HostType: "basic"}))
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()

	restored := false
	dst := openFSM(t, Options{OnRestore: func() { restored = true }})
	dst.ApplyBatch(entries(t, 1, &store.AddDomain{Name: "old.com", HostType: "basic"}))
	if err := dst.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if !restored {
		t.Error("OnRestore not called")
	}
	if _, ok := domain(t, dst, "a.com"); !ok {
		t.Error("a.com missing after restore")
	}
	for _, gone := range []string{"old.com", "late.com"} {
		if _, ok := domain(t, dst, gone); ok {
			t.Errorf("%s present after restore", gone)
		}
	}
	if idx, _ := dst.AppliedIndex(); idx != 2 {
		t.Errorf("applied index after restore = %d, want 2", idx)
	}
}

func TestRestoreRejectsGarbageAndKeepsState(t *testing.T) {
	f := openFSM(t, Options{})
	f.ApplyBatch(entries(t, 1, &store.AddDomain{Name: "keep.com", HostType: "basic"}))
	err := f.Restore(io.NopCloser(bytes.NewReader([]byte("not a bbolt file at all"))))
	if err == nil {
		t.Fatal("restore of garbage succeeded")
	}
	if _, ok := domain(t, f, "keep.com"); !ok {
		t.Error("state lost after failed restore")
	}
}

func TestCodecRoundTripAndUnknownKinds(t *testing.T) {
	for _, newFn := range kinds {
		m := newFn()
		data, err := Encode(m)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		back, err := Decode(data)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		if kindOf[reflect.TypeOf(back)] != data[0] {
			t.Errorf("%T decoded as %T", m, back)
		}
	}
	if m, err := Decode([]byte{flagIgnorable | 0x7f}); m != nil || err != nil {
		t.Errorf("ignorable unknown kind: %v %v", m, err)
	}
	if _, err := Decode([]byte{0x7f}); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestUndecodableEntryPanics(t *testing.T) {
	f := openFSM(t, Options{})
	defer func() {
		if recover() == nil {
			t.Error("no panic on an undecodable entry")
		}
	}()
	f.ApplyBatch([]*raft.Log{{Index: 1, Type: raft.LogCommand, Data: []byte{0x7f, 1, 2}}})
}
