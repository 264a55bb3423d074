package offline_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/offline"
	"github.com/mongoose-go/mongoose-go/xmpp/presence"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Nodes in one process sharing one store (as raft would make them), joined by a
// fake cluster that calls the other node's handler directly.

type fakeNet struct {
	mu    sync.Mutex
	nodes map[string]*fnode
}

type fnode struct {
	name  string
	net   *fakeNet
	h     *moduletest.Harness
	down  atomic.Bool  // calls to this node fail as if it were not connected
	calls atomic.Int32 // calls this node received

	mu       sync.Mutex
	handlers map[string]func(context.Context, string, []byte) ([]byte, error)
}

var _ module.Cluster = (*fnode)(nil)

func (n *fnode) Self() string { return n.name }

func (n *fnode) Peers() []string {
	n.net.mu.Lock()
	defer n.net.mu.Unlock()
	var out []string
	for name := range n.net.nodes {
		if name != n.name {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func (n *fnode) node(name string) *fnode {
	n.net.mu.Lock()
	defer n.net.mu.Unlock()
	return n.net.nodes[name]
}

func (n *fnode) Handle(svc string, h func(context.Context, string, []byte) ([]byte, error)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if h == nil {
		delete(n.handlers, svc)
		return
	}
	n.handlers[svc] = h
}

func (n *fnode) Call(ctx context.Context, node, svc string, req []byte) ([]byte, error) {
	to := n.node(node)
	if to == nil || to.down.Load() {
		return nil, fmt.Errorf("%s not connected", node)
	}
	to.mu.Lock()
	h := to.handlers[svc]
	to.mu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("no %s on %s", svc, node)
	}
	to.calls.Add(1)
	return h(ctx, n.name, req)
}

func (n *fnode) Deliver(node string, full jid.JID, el *xmlstream.Element) bool {
	to := n.node(node)
	return to != nil && !to.down.Load() && to.h.Router.DeliverFromPeer(full, el)
}

// cluster starts mod_presence and mod_offline on two nodes sharing one store, with
// accounts alice and bob of a.com. It returns bob's queue owner first.
func cluster(t *testing.T) (owner, other *fnode) {
	t.Helper()
	st := moduletest.NewStore(t)
	fn := &fakeNet{nodes: map[string]*fnode{}}
	for _, name := range []string{"n1", "n2"} {
		n := &fnode{name: name, net: fn, handlers: map[string]func(context.Context, string, []byte) ([]byte, error){}}
		n.h = harness(t, st, n)
		fn.nodes[name] = n
	}
	for _, n := range fn.nodes {
		n.h.Start("basic", presence.Module, nil)
		n.h.Start("basic", offline.Module(nil), nil)
	}
	fn.nodes["n1"].h.AddUser("a.com", "bob")
	fn.nodes["n1"].h.AddUser("a.com", "alice")
	o := offline.OwnerOf("n1", []string{"n2"}, jid.MustParse("bob@a.com"))
	if o == "n1" {
		return fn.nodes["n1"], fn.nodes["n2"]
	}
	return fn.nodes["n2"], fn.nodes["n1"]
}

// harness is moduletest.New with a cluster and a given store.
func harness(t *testing.T, st *moduletest.Store, cl module.Cluster) *moduletest.Harness {
	return moduletest.NewWith(t, moduletest.Config{Domains: map[string]string{"a.com": "basic"}, Store: st, Cluster: cl})
}

// store queues n messages for bob, sent by alice on node n.
func storeFor(t *testing.T, n *fnode, count int) {
	t.Helper()
	alice := n.h.Login("alice@a.com/r")
	for i := range count {
		alice.Send(fmt.Sprintf(`<message to='bob@a.com' type='chat'><body>%d</body></message>`, i+1))
	}
	if got := queued(n.h); got != count {
		t.Fatalf("%d queued, want %d", got, count)
	}
}

func messages(got []string) []string {
	var out []string
	for _, s := range got {
		if strings.HasPrefix(s, "message/") {
			out = append(out, s)
		}
	}
	return out
}

var want3 = []string{"message/chat alice@a.com/r>bob@a.com 1", "message/chat alice@a.com/r>bob@a.com 2", "message/chat alice@a.com/r>bob@a.com 3"}

// The owner is the same from every node's view, one of the nodes, this node when
// alone, and every node owns some users.
func TestOwnerIsDeterministic(t *testing.T) {
	owned := map[string]int{}
	for i := range 200 {
		u := jid.MustParse(fmt.Sprintf("user%d@a.com/res%d", i, i))
		o := offline.OwnerOf("b", []string{"c", "a"}, u)
		for _, v := range []string{
			offline.OwnerOf("a", []string{"b", "c"}, u),
			offline.OwnerOf("c", []string{"b", "a"}, u),
			offline.OwnerOf("a", []string{"c", "b", "a"}, u),
			offline.OwnerOf("b", []string{"a", "c"}, u.Bare()),
		} {
			if v != o {
				t.Fatalf("%s: owner %s from one view, %s from another", u, o, v)
			}
		}
		owned[o]++
		if got := offline.OwnerOf("solo", nil, u); got != "solo" {
			t.Fatalf("alone, owner is %q", got)
		}
	}
	if len(owned) != 3 || owned["a"] == 0 || owned["b"] == 0 || owned["c"] == 0 {
		t.Fatalf("owners: %v", owned)
	}
}

// A session becoming available on a node that does not own the user gets the queue
// from the owner, once, in order, before its own presence; the queue is emptied.
func TestRemoteOwnerDelivers(t *testing.T) {
	owner, other := cluster(t)
	storeFor(t, owner, 3)
	bob := other.h.Login("bob@a.com/r")
	bob.Send(`<presence/>`)
	got := bob.TakeSummaries()
	if want := append(slices.Clone(want3), "presence/available bob@a.com/r>bob@a.com"); !slices.Equal(got, want) {
		t.Fatalf("bob got %q", got)
	}
	if n := queued(other.h); n != 0 {
		t.Fatalf("%d left in the queue", n)
	}
	if owner.calls.Load() != 1 || other.calls.Load() != 1 {
		t.Fatalf("owner got %d calls (want deliver), other %d (want sync)", owner.calls.Load(), other.calls.Load())
	}
}

// The owner's own sessions are served locally, without calls.
func TestOwnerDeliversLocally(t *testing.T) {
	owner, other := cluster(t)
	storeFor(t, other, 3)
	bob := owner.h.Login("bob@a.com/r")
	bob.Send(`<presence/>`)
	if got := messages(bob.TakeSummaries()); !slices.Equal(got, want3) {
		t.Fatalf("bob got %q", got)
	}
	if owner.calls.Load() != 0 || other.calls.Load() != 0 {
		t.Fatalf("calls: %d, %d", owner.calls.Load(), other.calls.Load())
	}
}

// When the owner cannot be called (not connected, or without the service: an
// older node), the session's node delivers the queue itself.
func TestOwnerUnreachableFallsBack(t *testing.T) {
	for _, c := range []struct {
		name string
		cut  func(owner *fnode)
	}{
		{"not connected", func(o *fnode) { o.down.Store(true) }},
		{"no service", func(o *fnode) { o.Handle("offline/basic", nil) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			owner, other := cluster(t)
			storeFor(t, other, 3)
			c.cut(owner)
			bob := other.h.Login("bob@a.com/r")
			bob.Send(`<presence/>`)
			if got := messages(bob.TakeSummaries()); !slices.Equal(got, want3) {
				t.Fatalf("bob got %q", got)
			}
			if n := queued(other.h); n != 0 {
				t.Fatalf("%d left in the queue", n)
			}
		})
	}
}

// When the session's node cannot confirm the delivery (the session went away), the
// owner keeps the queue: it is delivered later rather than lost.
func TestUnconfirmedDeliveryKeepsQueue(t *testing.T) {
	owner, other := cluster(t)
	storeFor(t, owner, 3)
	bob := other.h.Login("bob@a.com/r")
	// The owner's sync call back fails: the session's node is not reachable from it.
	other.Handle("offline/basic", nil)
	bob.Send(`<presence/>`)
	// The owner's copies reached the session, but unconfirmed they stay queued, and
	// the session's node delivers them again: twice, never lost.
	if got := messages(bob.TakeSummaries()); !slices.Equal(got, append(slices.Clone(want3), want3...)) {
		t.Fatalf("bob got %q", got)
	}
	if n := queued(other.h); n != 0 {
		t.Fatalf("%d left in the queue", n)
	}
}

// Two resources becoming available together on the non-owner node both ask the
// owner; the second waits for the first and finds the queue empty.
func TestConcurrentRequestsDeliverOnce(t *testing.T) {
	owner, other := cluster(t)
	storeFor(t, owner, 3)
	// The first delivery holds between reading and deleting until the second
	// request reached the owner.
	defer offline.SetAfterRead(func(jid.JID) {
		deadline := time.Now().Add(5 * time.Second)
		for owner.calls.Load() < 2 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	})()
	b1, b2 := other.h.Login("bob@a.com/r1"), other.h.Login("bob@a.com/r2")
	var wg sync.WaitGroup
	for _, s := range []*moduletest.Session{b1, b2} {
		wg.Go(func() { s.Send(`<presence/>`) })
	}
	wg.Wait()
	if owner.calls.Load() != 2 {
		t.Fatalf("owner got %d calls", owner.calls.Load())
	}
	g1, g2 := messages(b1.TakeSummaries()), messages(b2.TakeSummaries())
	if !(slices.Equal(g1, want3) && len(g2) == 0) && !(slices.Equal(g2, want3) && len(g1) == 0) {
		t.Fatalf("r1 got %q, r2 got %q", g1, g2)
	}
	if n := queued(other.h); n != 0 {
		t.Fatalf("%d left in the queue", n)
	}
}
