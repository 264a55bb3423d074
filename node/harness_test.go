package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// In-process clusters for tests: every node on loopback with its own data dir and
// kernel-picked port, short raft timeouts, and helpers that wait on conditions.

func testRaftTuning() RaftTuning {
	return RaftTuning{
		HeartbeatTimeout:   200 * time.Millisecond,
		ElectionTimeout:    200 * time.Millisecond,
		LeaderLeaseTimeout: 100 * time.Millisecond,
		CommitTimeout:      5 * time.Millisecond,
	}
}

type member struct {
	name string
	dir  string
	addr string
	opts Options
	n    *Node // nil while killed
}

type testCluster struct {
	t       testing.TB
	secret  string
	tune    RaftTuning
	members []*member
	// logTo, when set, receives every node's logs (debugging).
	logTo io.Writer
}

func newTestCluster(t testing.TB, size int) *testCluster {
	t.Helper()
	c := &testCluster{t: t, secret: "test-secret", tune: testRaftTuning()}
	c.grow(size)
	return c
}

// grow starts nodes until the cluster has size members: the first bootstraps, the
// others join it. It returns once every member is a voter and has caught up.
func (c *testCluster) grow(size int) {
	c.t.Helper()
	for len(c.members) < size {
		name := fmt.Sprintf("n%d", len(c.members)+1)
		var join []string
		if len(c.members) > 0 {
			join = []string{c.members[0].addr}
		}
		m, err := c.start(name, c.t.TempDir(), "127.0.0.1:0", join)
		if err != nil {
			c.t.Fatalf("start %s: %v", name, err)
		}
		c.members = append(c.members, m)
		if len(c.members) == 1 {
			c.WaitForLeader()
		}
	}
	c.waitConverged()
}

func (c *testCluster) options(name, dir, addr string, join []string) Options {
	o := testOptions(dir)
	o.NodeName = name
	o.RaftAddr = addr
	o.Join = join
	o.Secret = c.secret
	o.Raft = c.tune
	o.JoinTimeout = 5 * time.Second
	if c.logTo != nil {
		o.Logger = slog.New(slog.NewTextHandler(c.logTo, nil)).With("node", name)
	}
	return o
}

func (c *testCluster) start(name, dir, addr string, join []string) (*member, error) {
	opts := c.options(name, dir, addr, join)
	n, err := Open(opts)
	if err != nil {
		return nil, err
	}
	m := &member{name: name, dir: dir, addr: n.RaftAddr(), opts: opts, n: n}
	m.opts.RaftAddr = m.addr
	c.t.Cleanup(func() {
		if m.n != nil {
			m.n.Close()
		}
	})
	return m, nil
}

// live returns the running members that are in a cluster (not killed, not left).
func (c *testCluster) live() []*member {
	var out []*member
	for _, m := range c.members {
		if m.n != nil && !m.n.left.Load() {
			out = append(out, m)
		}
	}
	return out
}

// Leader returns the live member that is raft leader, or nil.
func (c *testCluster) Leader() *member {
	for _, m := range c.live() {
		if m.n.raftp.Load().State() == raft.Leader {
			return m
		}
	}
	return nil
}

// WaitForLeader waits until a live member not in exclude leads and every other such
// member follows it.
func (c *testCluster) WaitForLeader(exclude ...*member) *member {
	c.t.Helper()
	var leader *member
	defer func() {
		if leader == nil || c.t.Failed() {
			for _, m := range c.live() {
				a, id := m.n.raftp.Load().LeaderWithID()
				c.t.Logf("%s: %s leader=%s %s", m.name, m.n.raftp.Load().State(), id, a)
			}
		}
	}()
	waitUntil(c.t, 10*time.Second, "a leader", func() bool {
		leader = nil
		for _, m := range c.live() {
			if slices.Contains(exclude, m) {
				continue
			}
			if m.n.raftp.Load().State() == raft.Leader {
				leader = m
			}
		}
		if leader == nil {
			return false
		}
		for _, m := range c.live() {
			if slices.Contains(exclude, m) {
				continue
			}
			if _, id := m.n.raftp.Load().LeaderWithID(); string(id) != leader.name {
				return false
			}
		}
		return true
	})
	return leader
}

// Followers returns the live members other than the leader.
func (c *testCluster) Followers() []*member {
	l := c.WaitForLeader()
	var out []*member
	for _, m := range c.live() {
		if m != l {
			out = append(out, m)
		}
	}
	return out
}

// Kill stops a member without leaving the cluster, as a crash would.
func (c *testCluster) Kill(m *member) {
	c.t.Helper()
	if err := m.n.Close(); err != nil {
		c.t.Logf("close %s: %v", m.name, err)
	}
	m.n = nil
}

// Restart starts a killed member again on its data dir and address.
func (c *testCluster) Restart(m *member) {
	c.t.Helper()
	n, err := Open(m.opts)
	if err != nil {
		c.t.Fatalf("restart %s: %v", m.name, err)
	}
	m.n = n
}

// Partition cuts the given members off from the others (both directions); Heal
// undoes it.
func (c *testCluster) Partition(minority ...*member) {
	var in, out []string
	for _, m := range c.members {
		if slices.Contains(minority, m) {
			in = append(in, m.addr)
		} else {
			out = append(out, m.addr)
		}
	}
	for _, m := range c.members {
		if m.n == nil {
			continue
		}
		if slices.Contains(minority, m) {
			m.n.port.Block(out...)
		} else {
			m.n.port.Block(in...)
		}
	}
}

func (c *testCluster) Heal() {
	for _, m := range c.members {
		if m.n != nil {
			m.n.port.Block()
		}
	}
}

// waitConverged waits until every live member applied what the leader has applied and
// knows the same configuration.
func (c *testCluster) waitConverged() {
	c.t.Helper()
	l := c.WaitForLeader()
	target := l.n.AppliedIndex()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, m := range c.live() {
		if err := m.n.WaitApplied(ctx, target); err != nil {
			c.t.Fatalf("%s did not catch up to index %d (at %d): %v", m.name, target, m.n.AppliedIndex(), err)
		}
	}
	want := len(l.n.Members())
	waitUntil(c.t, 10*time.Second, "configurations to agree", func() bool {
		for _, m := range c.live() {
			if len(m.n.Members()) != want {
				return false
			}
		}
		return true
	})
}

// waitFor polls cond until it holds or the deadline passes.
func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wipe(t testing.TB, dir string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
