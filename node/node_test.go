package node

import (
	"os"
	"path/filepath"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"

	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/store"
)

func testOptions(dir string) Options {
	return Options{
		NodeName:    "n1",
		DataDir:     dir,
		RaftAddr:    "127.0.0.1:0",
		StaticHosts: []string{"localhost"},
		HostTypes:   []string{"basic", "advanced"},
		Auth:        func(string) AuthPolicy { return AuthPolicy{Iterations: 64} },
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		PurgeChunk:  7,
	}
}

func startNode(t *testing.T, opts Options) *Node {
	t.Helper()
	n, err := Open(opts)
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

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestDomainOperationsFollowMongooseIM(t *testing.T) {
	n := startNode(t, testOptions(t.TempDir()))
	defer n.Close()
	c := ctx(t)
	cases := []struct {
		name string
		op   func() error
		want error
	}{
		{"add", func() error { return n.AddDomain(c, "Example.COM", "basic") }, nil},
		{"duplicate same type", func() error { return n.AddDomain(c, "example.com", "basic") }, store.ErrDomainExists},
		{"duplicate other type", func() error { return n.AddDomain(c, "example.com", "advanced") }, store.ErrDomainExists},
		{"unknown host type", func() error { return n.AddDomain(c, "x.com", "premium") }, ErrUnknownHostType},
		{"static name as host type", func() error { return n.AddDomain(c, "x.com", "localhost") }, ErrUnknownHostType},
		{"static domain", func() error { return n.AddDomain(c, "localhost", "basic") }, ErrStatic},
		{"invalid name", func() error { return n.AddDomain(c, "bad name", "basic") }, ErrInvalidDomain},
		{"empty name", func() error { return n.AddDomain(c, "", "basic") }, ErrInvalidDomain},
		{"disable static", func() error { return n.SetDomainEnabled(c, "localhost", false) }, ErrStatic},
		{"enable unknown", func() error { return n.SetDomainEnabled(c, "nope.com", true) }, store.ErrDomainNotFound},
		{"remove static", func() error { return n.RemoveDomain(c, "localhost", "basic", false) }, ErrStatic},
		{"remove wrong type", func() error { return n.RemoveDomain(c, "example.com", "advanced", false) }, store.ErrWrongHostType},
		{"remove unknown", func() error { return n.RemoveDomain(c, "nope.com", "basic", false) }, store.ErrDomainNotFound},
		{"disable", func() error { return n.SetDomainEnabled(c, "example.com", false) }, nil},
	}
	for _, tc := range cases {
		if err := tc.op(); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, ok := n.Directory().HostTypeOf("example.com"); ok {
		t.Error("disabled domain still served")
	}
	d, err := n.Domain("example.com")
	if err != nil || d.Status != store.StatusDisabled || d.HostType != "basic" || d.Static {
		t.Errorf("details = %+v, %v", d, err)
	}
	if err := n.SetDomainEnabled(c, "example.com", true); err != nil {
		t.Fatal(err)
	}
	if ht, ok := n.Directory().HostTypeOf("example.com"); !ok || ht != "basic" {
		t.Errorf("re-enabled domain: %q %v", ht, ok)
	}
	all, _ := n.ListDomains("")
	if len(all) != 2 || all[0].Name != "example.com" || all[1].Name != "localhost" || !all[1].Static {
		t.Errorf("list = %+v", all)
	}
	if _, err := n.ListDomains("premium"); !errors.Is(err, ErrUnknownHostType) {
		t.Errorf("list unknown host type: %v", err)
	}
}

func TestRemoveDomainPurgesUsersAndAllowsReAdd(t *testing.T) {
	n := startNode(t, testOptions(t.TempDir()))
	defer n.Close()
	c := ctx(t)
	var events []DomainEvent
	n.Directory().Watch(func(e DomainEvent) { events = append(events, e) })
	if err := n.AddDomain(c, "a.com", "basic"); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := n.RegisterUser(c, "a.com", fmt.Sprintf("user%d", i), "pw"); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.RemoveDomain(c, "a.com", "basic", false); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Domain("a.com"); !errors.Is(err, store.ErrDomainNotFound) {
		t.Errorf("removed domain still there: %v", err)
	}
	if err := n.RemoveDomain(c, "a.com", "basic", false); !errors.Is(err, store.ErrDomainNotFound) {
		t.Errorf("second remove: %v", err)
	}
	if err := n.AddDomain(c, "a.com", "advanced"); err != nil {
		t.Fatal(err)
	}
	users, _ := n.ListUsers("a.com")
	if len(users) != 0 {
		t.Errorf("re-added domain has users %v", users)
	}
	kinds := []DomainEventKind{}
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	want := fmt.Sprint([]DomainEventKind{DomainAdded, DomainDeleting, DomainRemoved, DomainAdded})
	if fmt.Sprint(kinds) != want {
		t.Errorf("events %v, want %v", kinds, want)
	}
}

func TestAsyncRemoveAndEnableWhileDeleting(t *testing.T) {
	opts := testOptions(t.TempDir())
	opts.PurgeChunk = 1
	n := startNode(t, opts)
	defer n.Close()
	c := ctx(t)
	if err := n.AddDomain(c, "a.com", "basic"); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := n.RegisterUser(c, "a.com", fmt.Sprintf("u%d", i), "pw"); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.RemoveDomain(c, "a.com", "basic", true); err != nil {
		t.Fatal(err)
	}
	// Right after the 202 the domain is deleting (or already gone), never served.
	if _, ok := n.Directory().HostTypeOf("a.com"); ok {
		t.Error("deleting domain still served")
	}
	if err := n.SetDomainEnabled(c, "a.com", true); err != nil &&
		!errors.Is(err, store.ErrDomainDeleted) && !errors.Is(err, store.ErrDomainNotFound) {
		t.Errorf("enable while deleting: %v", err)
	}
	waitFor(t, func() bool { _, err := n.Domain("a.com"); return errors.Is(err, store.ErrDomainNotFound) })
}

func TestUsers(t *testing.T) {
	n := startNode(t, testOptions(t.TempDir()))
	defer n.Close()
	c := ctx(t)
	if err := n.AddDomain(c, "a.com", "basic"); err != nil {
		t.Fatal(err)
	}
	j, err := n.RegisterUser(c, "A.com", "Alice", "secret")
	if err != nil || j.String() != "alice@a.com" {
		t.Fatalf("register: %v %v", j, err)
	}
	if _, err := n.RegisterUser(c, "a.com", "alice", "x"); !errors.Is(err, store.ErrUserExists) {
		t.Errorf("duplicate user: %v", err)
	}
	if _, err := n.RegisterUser(c, "nope.com", "bob", "x"); !errors.Is(err, ErrDomainNotServed) {
		t.Errorf("unknown domain: %v", err)
	}
	if _, err := n.RegisterUser(c, "a.com", "bad user", "x"); !errors.Is(err, ErrInvalidUser) {
		t.Errorf("invalid user: %v", err)
	}
	if _, err := n.RegisterUser(c, "localhost", "root", "pw"); err != nil {
		t.Errorf("static domain user: %v", err)
	}
	if !n.CheckPassword("a.com", "alice", "secret") || n.CheckPassword("a.com", "alice", "wrong") {
		t.Error("password check")
	}
	if err := n.ChangePassword(c, "a.com", "alice", "new"); err != nil {
		t.Fatal(err)
	}
	if !n.CheckPassword("a.com", "alice", "new") {
		t.Error("new password rejected")
	}
	if err := n.ChangePassword(c, "a.com", "alice", ""); !errors.Is(err, ErrEmptyPassword) {
		t.Errorf("empty password: %v", err)
	}
	removed := ""
	n.OnApplied(func(m store.Mutation) {
		if m, ok := m.(*store.RemoveUser); ok {
			removed = m.User + "@" + m.Domain
		}
	})
	if err := n.RemoveUser(c, "a.com", "alice"); err != nil {
		t.Fatal(err)
	}
	if removed != "alice@a.com" {
		t.Errorf("removal hook got %q", removed)
	}
	if err := n.RemoveUser(c, "a.com", "alice"); !errors.Is(err, store.ErrUserNotFound) {
		t.Errorf("second removal: %v", err)
	}
}

func TestRestartKeepsState(t *testing.T) {
	opts := testOptions(t.TempDir())
	n := startNode(t, opts)
	c := ctx(t)
	for i := range 30 {
		if err := n.AddDomain(c, fmt.Sprintf("d%d.com", i), "basic"); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.SetDomainEnabled(c, "d3.com", false); err != nil {
		t.Fatal(err)
	}
	applied := n.Status().AppliedIndex
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = startNode(t, opts)
	defer n.Close()
	if got := n.Directory().Count(); got != 30 {
		t.Errorf("after restart %d domains, want 30", got)
	}
	if d, _ := n.Domain("d3.com"); d.Status != store.StatusDisabled {
		t.Errorf("d3 status %v after restart", d.Status)
	}
	if got := n.Status().AppliedIndex; got < applied {
		t.Errorf("applied index went back: %d < %d", got, applied)
	}
	if err := n.AddDomain(c, "after.com", "basic"); err != nil {
		t.Fatal(err)
	}
}

func TestDomainPassword(t *testing.T) {
	n := startNode(t, testOptions(t.TempDir()))
	defer n.Close()
	c := ctx(t)
	if err := n.SetDomainPassword(c, "nope.com", "pw"); !errors.Is(err, store.ErrDomainDisabled) {
		t.Errorf("unknown domain: %v", err)
	}
	if err := n.AddDomain(c, "a.com", "basic"); err != nil {
		t.Fatal(err)
	}
	if err := n.SetDomainPassword(c, "a.com", "pw"); err != nil {
		t.Fatal(err)
	}
	if !n.CheckDomainPassword("a.com", "pw") || n.CheckDomainPassword("a.com", "nope") {
		t.Error("domain password check")
	}
	if err := n.DeleteDomainPassword(c, "a.com"); err != nil {
		t.Fatal(err)
	}
	if err := n.DeleteDomainPassword(c, "a.com"); !errors.Is(err, store.ErrDomainPasswordNone) {
		t.Errorf("second delete: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A failing purge step stops the removal and leaves the domain deleting (out of
// service, nothing re-addable); removing it again resumes and finishes (MongooseIM's
// removal_stops_if_handler_fails).
func TestFailingPurgeLeavesDomainDeletingAndResumes(t *testing.T) {
	n := startNode(t, testOptions(t.TempDir()))
	defer n.Close()
	c := ctx(t)
	if err := n.AddDomain(c, "a.com", "basic"); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := n.RegisterUser(c, "a.com", fmt.Sprintf("u%d", i), "pw"); err != nil {
			t.Fatal(err)
		}
	}
	steps := 0
	broken := errors.New("handler crashed")
	n.SetPurgeFault(func(_, step string) error {
		if step != "accounts" {
			return nil
		}
		steps++
		if steps == 2 { // after one chunk went through
			return broken
		}
		return nil
	})
	if err := n.RemoveDomain(c, "a.com", "basic", false); !errors.Is(err, broken) {
		t.Fatalf("removal with a failing step: %v", err)
	}
	d, err := n.Domain("a.com")
	if err != nil || d.Status != store.StatusDeleting {
		t.Fatalf("after the failure: %+v %v, want deleting", d, err)
	}
	if _, ok := n.Directory().HostTypeOf("a.com"); ok {
		t.Error("a domain whose removal failed is still served")
	}
	if users, _ := n.ListUsers("a.com"); len(users) == 0 || len(users) == 20 {
		t.Errorf("%d users left: want a partial purge", len(users))
	}
	if err := n.AddDomain(c, "a.com", "basic"); !errors.Is(err, store.ErrDomainExists) {
		t.Errorf("re-add during a stuck removal: %v", err)
	}
	n.SetPurgeFault(nil)
	if err := n.RemoveDomain(c, "a.com", "basic", false); err != nil {
		t.Fatalf("resumed removal: %v", err)
	}
	if _, err := n.Domain("a.com"); !errors.Is(err, store.ErrDomainNotFound) {
		t.Errorf("after the resumed removal: %v", err)
	}
	if err := n.AddDomain(c, "a.com", "basic"); err != nil {
		t.Fatal(err)
	}
	if users, _ := n.ListUsers("a.com"); len(users) != 0 {
		t.Errorf("re-added domain has %d users", len(users))
	}
}

// MongooseIM's removal_stops_if_handler_fails (reference section 10.2, item 29): a
// remove_domain step that fails stops the removal, so the steps after it keep their
// data (here the room archive, purged after MUC Light), and once the fault is gone a
// new removal finishes every step.
func TestFailingPurgeStepKeepsLaterStepsData(t *testing.T) {
	n := startNode(t, testOptions(t.TempDir()))
	defer n.Close()
	c := ctx(t)
	if err := n.AddDomain(c, "a.com", "basic"); err != nil {
		t.Fatal(err)
	}
	room := store.MUCLightRoom{Version: "v1", Affs: []store.MUCLightAff{{User: "alice@a.com", Aff: "owner"}}}
	if _, err := n.Apply(c, &store.PutMUCLightRoom{Domain: "a.com", Room: "r1", Create: true, State: room}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Apply(c, &store.ArchiveMessages{Records: []store.ArchiveRecord{
		{Domain: "a.com", User: "r1@muclight.a.com", ID: 1, With: "alice@a.com", XML: "<message/>"},
	}}); err != nil {
		t.Fatal(err)
	}
	archived := func() int {
		var count int
		n.View(func(tx *bolt.Tx) error {
			count = store.ArchiveCount(tx, "a.com", "r1@muclight.a.com", "")
			return nil
		})
		return count
	}
	if archived() != 1 {
		t.Fatal("room archive not written")
	}
	broken := errors.New("muc light handler crashed")
	var ran []string
	n.SetPurgeFault(func(_, step string) error {
		ran = append(ran, step)
		if step == "muc_light" {
			return broken
		}
		return nil
	})
	err := n.RemoveDomain(c, "a.com", "basic", false)
	var pe *PurgeError
	if !errors.As(err, &pe) || pe.Step != "muc_light" || !errors.Is(err, broken) {
		t.Fatalf("removal with a failing step: %v", err)
	}
	if len(ran) != 1 {
		t.Errorf("steps run after the failure: %v", ran)
	}
	if d, err := n.Domain("a.com"); err != nil || d.Status != store.StatusDeleting {
		t.Fatalf("after the failure: %+v %v, want deleting", d, err)
	}
	if archived() != 1 {
		t.Error("the room archive was purged although an earlier step failed")
	}

	n.SetPurgeFault(nil)
	if err := n.RemoveDomain(c, "a.com", "basic", false); err != nil {
		t.Fatalf("resumed removal: %v", err)
	}
	if archived() != 0 {
		t.Error("room archive left after the resumed removal")
	}
	n.View(func(tx *bolt.Tx) error {
		if store.HasDomainData(tx, "a.com") {
			t.Error("domain data left after the resumed removal")
		}
		return nil
	})
}

// An asynchronous removal ("request": true) that hits a failing step stops instead of
// retrying for ever; a new request resumes it.
func TestFailingAsyncPurgeStopsAndResumes(t *testing.T) {
	n := startNode(t, testOptions(t.TempDir()))
	defer n.Close()
	c := ctx(t)
	if err := n.AddDomain(c, "a.com", "basic"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.RegisterUser(c, "a.com", "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	var failures atomic.Int32
	n.SetPurgeFault(func(_, step string) error {
		if step == "accounts" {
			failures.Add(1)
			return errors.New("accounts handler crashed")
		}
		return nil
	})
	if err := n.RemoveDomain(c, "a.com", "basic", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return failures.Load() > 0 && !n.Purging("a.com") })
	if got := failures.Load(); got != 1 {
		t.Errorf("failing step tried %d times, want once", got)
	}
	if d, err := n.Domain("a.com"); err != nil || d.Status != store.StatusDeleting {
		t.Fatalf("after the failure: %+v %v, want deleting", d, err)
	}
	n.SetPurgeFault(nil)
	if err := n.RemoveDomain(c, "a.com", "basic", true); err != nil {
		t.Fatalf("second request: %v", err)
	}
	waitFor(t, func() bool {
		_, err := n.Domain("a.com")
		return errors.Is(err, store.ErrDomainNotFound)
	})
}

// TestStoreRebuiltAfterMachineCrash: the store file is written without fsync (the
// raft log is the durable copy; raftfsm/durable.go). When the machine went down with
// the file open (an open marker from another boot), the file may be torn: the node
// sets it aside and rebuilds it from the last raft snapshot and the log after it,
// losing nothing that was acknowledged.
func TestStoreRebuiltAfterMachineCrash(t *testing.T) {
	opts := testOptions(t.TempDir())
	n := startNode(t, opts)
	c := ctx(t)
	add := func(from, to int) {
		for i := from; i < to; i++ {
			if err := n.AddDomain(c, fmt.Sprintf("d%d.com", i), "basic"); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(0, 20)
	// Half the domains end up in a snapshot, the rest only in the log after it.
	if err := n.raftp.Load().Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	add(20, 40)
	if _, err := n.RegisterUser(c, "d39.com", "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(opts.DataDir, StoreFile)
	if _, err := os.Stat(path + ".open"); !os.IsNotExist(err) {
		t.Fatalf("open marker after a clean close: %v", err)
	}
	// The machine went down mid-write: a marker from another boot, a torn file.
	if err := os.WriteFile(path+".open", []byte("another-boot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 4096); err != nil {
		t.Fatal(err)
	}

	n = startNode(t, opts)
	defer n.Close()
	waitFor(t, func() bool { return n.Directory().Count() == 40 })
	if users, _ := n.ListUsers("d39.com"); len(users) != 1 {
		t.Errorf("users of d39.com after the rebuild: %v", users)
	}
	if _, err := os.Stat(path + ".untrusted"); err != nil {
		t.Errorf("the torn file was not kept aside: %v", err)
	}
	// Writes go on, and the new file is trusted on the next clean start.
	add(40, 41)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = startNode(t, opts)
	t.Cleanup(func() { n.Close() })
	if got := n.Directory().Count(); got != 41 {
		t.Errorf("%d domains after a clean restart, want 41", got)
	}
}
