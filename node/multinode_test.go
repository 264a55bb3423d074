package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/node/cluster"
	"github.com/mongoose-go/mongoose-go/raftfsm"
	"github.com/mongoose-go/mongoose-go/store"
)

func TestWritesOnFollowersAreForwardedAndReadableAtOnce(t *testing.T) {
	c := newTestCluster(t, 3)
	for _, m := range c.live() {
		if got := len(m.n.Members()); got != 3 {
			t.Fatalf("%s sees %d members", m.name, got)
		}
	}
	fs := c.Followers()
	x := ctx(t)
	for i, f := range fs {
		d := fmt.Sprintf("f%d.example", i)
		if err := f.n.AddDomain(x, d, "basic"); err != nil {
			t.Fatalf("add on follower %s: %v", f.name, err)
		}
		// Read back on the same follower, no waiting.
		if got, err := f.n.Domain(d); err != nil || got.HostType != "basic" {
			t.Fatalf("read back on %s: %+v %v", f.name, got, err)
		}
		if _, err := f.n.RegisterUser(x, d, "alice", "pw"); err != nil {
			t.Fatalf("register on %s: %v", f.name, err)
		}
		if !f.n.CheckPassword(d, "alice", "pw") {
			t.Fatalf("user not readable on %s right after the write", f.name)
		}
	}
	// Domain errors cross the cluster port as the same sentinels.
	if err := fs[0].n.AddDomain(x, "f1.example", "basic"); !errors.Is(err, store.ErrDomainExists) {
		t.Fatalf("duplicate on follower: %v", err)
	}
	if err := fs[1].n.RemoveDomain(x, "nope.example", "basic", false); !errors.Is(err, store.ErrDomainNotFound) {
		t.Fatalf("remove unknown on follower: %v", err)
	}
	// A synchronous removal purges in chunks driven by PurgeResult values that come back
	// from the leader.
	for i := range 20 {
		if _, err := fs[0].n.RegisterUser(x, "f0.example", fmt.Sprintf("u%d", i), "pw"); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs[0].n.RemoveDomain(x, "f0.example", "basic", false); err != nil {
		t.Fatalf("remove on follower: %v", err)
	}
	if _, err := fs[0].n.Domain("f0.example"); !errors.Is(err, store.ErrDomainNotFound) {
		t.Fatalf("removed domain still on the follower: %v", err)
	}
	c.waitConverged()
	for _, m := range c.live() {
		if got := m.n.Directory().Count(); got != 1 {
			t.Errorf("%s has %d domains, want 1", m.name, got)
		}
	}

	st := fs[0].n.ClusterStatus(x)
	l := c.Leader()
	if st.Leader != l.name || len(st.Servers) != 3 {
		t.Fatalf("cluster status %+v", st)
	}
	for _, s := range st.Servers {
		if !s.Reachable || s.Suffrage != "voter" || s.AppliedIndex == 0 || s.Leader != (s.Name == l.name) {
			t.Errorf("server %+v", s)
		}
	}
}

func TestLeaderFailoverAndCatchUp(t *testing.T) {
	c := newTestCluster(t, 3)
	x := ctx(t)
	old := c.WaitForLeader()
	if err := old.n.AddDomain(x, "before.example", "basic"); err != nil {
		t.Fatal(err)
	}
	c.waitConverged()
	c.Kill(old)
	start := time.Now()
	survivor := c.live()[0]
	// The write waits out the election itself; it must land within 5 s.
	wctx, cancel := context.WithTimeout(x, 5*time.Second)
	defer cancel()
	if err := survivor.n.AddDomain(wctx, "during.example", "basic"); err != nil {
		t.Fatalf("write after leader loss: %v", err)
	}
	t.Logf("failover: first write accepted %s after the leader died", time.Since(start).Round(time.Millisecond))
	nl := c.WaitForLeader()
	if nl == old {
		t.Fatal("dead node still leader")
	}
	for i := range 5 {
		if err := nl.n.AddDomain(x, fmt.Sprintf("missed%d.example", i), "basic"); err != nil {
			t.Fatal(err)
		}
	}
	st := survivor.n.ClusterStatus(x)
	for _, s := range st.Servers {
		if s.Name == old.name && s.Reachable {
			t.Errorf("dead node reported reachable: %+v", s)
		}
	}
	c.Restart(old)
	c.waitConverged()
	for _, d := range []string{"before.example", "during.example", "missed4.example"} {
		if _, err := old.n.Domain(d); err != nil {
			t.Errorf("restarted node misses %s: %v", d, err)
		}
	}
	// And it takes writes again, as a follower.
	if err := old.n.AddDomain(x, "after.example", "basic"); err != nil {
		t.Fatalf("write on the restarted node: %v", err)
	}
}

func TestRestartedFollowerCatchesUpFromSnapshot(t *testing.T) {
	c := &testCluster{t: t, secret: "s", tune: testRaftTuning()}
	c.tune.TrailingLogs = 4
	c.grow(3)
	x := ctx(t)
	f := c.Followers()[0]
	c.Kill(f)
	l := c.WaitForLeader()
	for i := range 40 {
		if err := l.n.AddDomain(x, fmt.Sprintf("d%02d.example", i), "basic"); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.n.raftp.Load().Snapshot().Error(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	c.Restart(f)
	c.waitConverged()
	if got := f.n.Directory().Count(); got != 40 {
		t.Fatalf("restarted follower has %d domains, want 40", got)
	}
	if f.n.restores.Load() == 0 {
		t.Fatal("the follower caught up without a snapshot: the test does not test what it says")
	}
}

func TestRemoveDeadNodeAndReAddWithWipedDataDir(t *testing.T) {
	c := newTestCluster(t, 3)
	x := ctx(t)
	fs := c.Followers()
	dead, other := fs[0], fs[1]
	c.Kill(dead)
	if err := other.n.RemoveNode(x, dead.name); err != nil {
		t.Fatalf("remove dead node via a follower: %v", err)
	}
	if got := len(other.n.Members()); got != 2 {
		t.Fatalf("%d members after remove", got)
	}
	if err := other.n.RemoveNode(x, dead.name); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("second remove: %v", err)
	}
	if err := other.n.AddDomain(x, "two.example", "basic"); err != nil {
		t.Fatal(err)
	}
	wipe(t, dead.dir)
	m, err := c.start(dead.name, dead.dir, dead.addr, []string{other.addr})
	if err != nil {
		t.Fatalf("re-add: %v", err)
	}
	*dead = *m
	c.waitConverged()
	if got := len(dead.n.Members()); got != 3 {
		t.Fatalf("%d members after re-add", got)
	}
	if _, err := dead.n.Domain("two.example"); err != nil {
		t.Fatalf("re-added node misses data: %v", err)
	}
}

func TestJoinRefusals(t *testing.T) {
	c := newTestCluster(t, 2)
	n1 := c.members[0]

	// Wrong secret: refused at once, with a message that says so.
	bad := c.options("n9", t.TempDir(), "127.0.0.1:0", []string{n1.addr})
	bad.Secret = "not-the-secret"
	start := time.Now()
	_, err := Open(bad)
	if !errors.Is(err, ErrSecretMismatch) || !strings.Contains(err.Error(), "cluster secret mismatch") {
		t.Fatalf("join with the wrong secret: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("wrong secret took %s to fail", d)
	}

	// Same name as a member, at another address.
	for _, name := range []string{"n1", "n2"} {
		_, err := c.start(name, t.TempDir(), "127.0.0.1:0", []string{n1.addr})
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "already in use") {
			t.Fatalf("second %s: %v", name, err)
		}
	}
	if got := len(n1.n.Members()); got != 2 {
		t.Fatalf("refused joins changed the configuration: %d members", got)
	}

	// Idempotent: a member that joins again with its own name and address is fine.
	var resp joinResponse
	n2 := c.members[1]
	if err := n2.n.callLeader(ctx(t), n1.addr, opJoin, joinRequest{Name: n2.name, Addr: n2.addr}, &resp); err != nil {
		t.Fatalf("repeated join: %v", err)
	}

	// A joiner that brings raft state is refused by the leader.
	err = n2.n.callLeader(ctx(t), n1.addr, opJoin, joinRequest{Name: "n7", Addr: "127.0.0.1:1", HasState: true}, &resp)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "another cluster") {
		t.Fatalf("joiner with state: %v", err)
	}
}

func TestJoinUnreachableOrNonClusterAddressFailsInBoundedTime(t *testing.T) {
	c := &testCluster{t: t, secret: "s", tune: testRaftTuning()}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	web := httptest.NewServer(http.NotFoundHandler())
	defer web.Close()
	for _, tc := range []struct {
		addr string
		want error
	}{
		{closed, ErrJoinFailed},
		{web.Listener.Addr().String(), cluster.ErrNotClusterPort},
	} {
		o := c.options("n1", t.TempDir(), "127.0.0.1:0", []string{tc.addr})
		o.JoinTimeout = time.Second
		start := time.Now()
		_, err := Open(o)
		if !errors.Is(err, tc.want) {
			t.Errorf("join %s: %v", tc.addr, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("join %s took %s", tc.addr, d)
		}
	}
}

func TestPartitionedMinorityNeverAcceptsWrites(t *testing.T) {
	c := newTestCluster(t, 3)
	old := c.WaitForLeader()
	c.Partition(old)
	// The isolated leader cannot commit: the write fails with "no leader" once it
	// steps down, and is never applied anywhere.
	wctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := old.n.AddDomain(wctx, "minority.example", "basic")
	if !errors.Is(err, ErrNoLeader) {
		t.Fatalf("write on the isolated leader: %v", err)
	}
	nl := c.WaitForLeader(old)
	x := ctx(t)
	if err := nl.n.AddDomain(x, "majority.example", "basic"); err != nil {
		t.Fatalf("majority write: %v", err)
	}
	// Writes on the isolated node keep failing, as a follower without a leader now.
	wctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if err := old.n.AddDomain(wctx2, "minority2.example", "basic"); !errors.Is(err, ErrNoLeader) {
		t.Fatalf("second write on the minority: %v", err)
	}
	c.Heal()
	c.waitConverged()
	for _, m := range c.live() {
		if _, err := m.n.Domain("majority.example"); err != nil {
			t.Errorf("%s misses the majority write: %v", m.name, err)
		}
		for _, d := range []string{"minority.example", "minority2.example"} {
			if _, err := m.n.Domain(d); err == nil {
				t.Errorf("%s has %s, a write that was refused", m.name, d)
			}
		}
	}
}

func TestWrongSecretRaftTrafficChangesNothing(t *testing.T) {
	c := newTestCluster(t, 1)
	n1 := c.members[0]
	// Let the new leader's own entries settle first.
	if err := n1.n.raftp.Load().Barrier(5 * time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	before := n1.n.raftp.Load().LastIndex()
	intruder, err := cluster.Listen(cluster.Config{Listen: "127.0.0.1:0", Secret: "guess", DataDir: t.TempDir(),
		NodeName: "intruder", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Close()
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: intruder.RaftLayer(), MaxPool: 1, Timeout: 2 * time.Second,
		Logger: hclog.New(&hclog.LoggerOptions{Output: io.Discard}),
	})
	defer trans.Close()
	cmd, _ := raftfsm.Encode(&store.AddDomain{Name: "evil.example", HostType: "basic"})
	req := &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ID: []byte("intruder"), Addr: []byte(intruder.Addr())},
		Term:      1000, Leader: []byte(intruder.Addr()), PrevLogEntry: before, PrevLogTerm: 1, LeaderCommitIndex: before + 1,
		Entries: []*raft.Log{{Index: before + 1, Term: 1000, Type: raft.LogCommand, Data: cmd}},
	}
	var resp raft.AppendEntriesResponse
	if err := trans.AppendEntries("n1", raft.ServerAddress(n1.addr), req, &resp); !errors.Is(err, cluster.ErrSecretMismatch) {
		t.Fatalf("append entries with the wrong secret: %v", err)
	}
	if got := n1.n.raftp.Load().LastIndex(); got != before {
		t.Fatalf("raft log moved from %d to %d", before, got)
	}
	if _, err := n1.n.Domain("evil.example"); err == nil {
		t.Fatal("intruder's entry applied")
	}
	if n1.n.raftp.Load().State() != raft.Leader {
		t.Fatal("intruder's term deposed the leader")
	}
}

func TestJoinClusterDiscardsOnlyWhatMayBeDiscarded(t *testing.T) {
	c := newTestCluster(t, 1)
	n1 := c.members[0]
	x := ctx(t)
	if err := n1.n.AddDomain(x, "shared.example", "basic"); err != nil {
		t.Fatal(err)
	}
	// A fresh standalone node (bootstrapped alone, no data) joins without --force.
	fresh, err := c.start("n2", t.TempDir(), "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.members = append(c.members, fresh)
	waitUntil(t, 5*time.Second, "n2 to lead itself", func() bool { return fresh.n.raftp.Load().State() == raft.Leader })
	if err := fresh.n.JoinCluster(x, []string{n1.addr}, false); err != nil {
		t.Fatalf("join a fresh node: %v", err)
	}
	c.waitConverged()
	if _, err := fresh.n.Domain("shared.example"); err != nil {
		t.Fatalf("joined node misses data: %v", err)
	}
	if err := fresh.n.JoinCluster(x, []string{n1.addr}, false); err != nil {
		t.Fatalf("join again: %v", err)
	}

	// A standalone node with its own data is refused unless forced.
	own, err := c.start("n3", t.TempDir(), "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := own.n.AddDomain(x, "mine.example", "basic"); err != nil {
		t.Fatal(err)
	}
	err = own.n.JoinCluster(x, []string{n1.addr}, false)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("join a node holding data: %v", err)
	}
	if _, err := own.n.Domain("mine.example"); err != nil {
		t.Fatal("a refused join discarded data")
	}
	if err := own.n.JoinCluster(x, []string{n1.addr}, true); err != nil {
		t.Fatalf("forced join: %v", err)
	}
	c.members = append(c.members, own)
	c.waitConverged()
	if _, err := own.n.Domain("mine.example"); err == nil {
		t.Error("forced join kept the node's own data")
	}
	if _, err := own.n.Domain("shared.example"); err != nil {
		t.Errorf("forced join misses the cluster's data: %v", err)
	}
	if err := own.n.AddDomain(x, "via-n3.example", "basic"); err != nil {
		t.Fatalf("write through the joined node: %v", err)
	}
}

func TestLeaveCluster(t *testing.T) {
	c := newTestCluster(t, 3)
	x := ctx(t)
	old := c.WaitForLeader()
	if err := old.n.LeaveCluster(x); err != nil {
		t.Fatalf("leader leaves: %v", err)
	}
	nl := c.WaitForLeader(old)
	if got := len(nl.n.Members()); got != 2 {
		t.Fatalf("%d members after leave", got)
	}
	if err := old.n.AddDomain(x, "x.example", "basic"); !errors.Is(err, ErrNoLeader) {
		t.Fatalf("write on a node that left: %v", err)
	}
	if st := old.n.Status(); st.RaftState != "Left" {
		t.Fatalf("status of a node that left: %+v", st)
	}
	if err := nl.n.AddDomain(x, "y.example", "basic"); err != nil {
		t.Fatalf("write after leave: %v", err)
	}
	// A follower leaves too; the last node cannot.
	f := c.Followers()
	var follower *member
	for _, m := range f {
		if m != old {
			follower = m
		}
	}
	if err := follower.n.LeaveCluster(x); err != nil {
		t.Fatalf("follower leaves: %v", err)
	}
	waitUntil(t, 5*time.Second, "one member", func() bool { return len(nl.n.Members()) == 1 })
	if err := nl.n.LeaveCluster(x); !errors.Is(err, ErrLastNode) {
		t.Fatalf("last node leaves: %v", err)
	}
	// A node that left may join again without --force: its data is a stale copy.
	if err := old.n.JoinCluster(x, []string{nl.addr}, false); err != nil {
		t.Fatalf("rejoin after leave: %v", err)
	}
	waitUntil(t, 5*time.Second, "rejoined node to apply", func() bool {
		_, err := old.n.Domain("y.example")
		return err == nil
	})
}

func TestRestoredStoreIsShippedToJoiners(t *testing.T) {
	c := &testCluster{t: t, secret: "s", tune: testRaftTuning()}
	dir := t.TempDir()
	// A store with data and no raft state, as `restore` leaves it.
	db, err := raftfsm.OpenDB(dir+"/"+StoreFile, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for i := range 50 {
			if _, err := (&store.AddDomain{Name: fmt.Sprintf("r%d.example", i), HostType: "basic"}).Apply(tx); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Joining with such a store would lose it: refused.
	if _, err := c.start("n1", dir, "127.0.0.1:0", []string{"127.0.0.1:1"}); !errors.Is(err, ErrRefused) {
		t.Fatalf("join with a restored store: %v", err)
	}
	first, err := c.start("n1", dir, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.members = append(c.members, first)
	c.WaitForLeader()
	c.grow(3)
	for _, m := range c.live() {
		if got := m.n.Directory().Count(); got != 50 {
			t.Errorf("%s has %d domains, want 50", m.name, got)
		}
	}
	if err := c.members[2].n.AddDomain(ctx(t), "new.example", "basic"); err != nil {
		t.Fatal(err)
	}
}

func TestJoinListOfOwnAddressBootstrapsAndJoinIsIgnoredWithState(t *testing.T) {
	c := &testCluster{t: t, secret: "s", tune: testRaftTuning()}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	// Every node may share one join list; a node finds itself in it and bootstraps.
	m, err := c.start("n1", t.TempDir(), addr, []string{addr})
	if err != nil {
		t.Fatal(err)
	}
	c.members = append(c.members, m)
	c.WaitForLeader()
	if err := m.n.AddDomain(ctx(t), "kept.example", "basic"); err != nil {
		t.Fatal(err)
	}
	c.Kill(m)
	// With raft state, the join list is not used: an unreachable member does not matter.
	m.opts.Join = []string{"127.0.0.1:1"}
	start := time.Now()
	c.Restart(m)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("restart with a join list took %s", d)
	}
	c.WaitForLeader()
	if _, err := m.n.Domain("kept.example"); err != nil {
		t.Fatal(err)
	}
}
