package mesh

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/cluster"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/router/routertest"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeLocal records what peers hand to this node's router.
type fakeLocal struct {
	mu     sync.Mutex
	routed []*xmlstream.Element
	direct []string // "full|xml"
	stops  []string // "full|cond|text"
}

func (l *fakeLocal) RouteFromPeer(el *xmlstream.Element) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.routed = append(l.routed, el)
	return nil
}

func (l *fakeLocal) DeliverFromPeer(full jid.JID, el *xmlstream.Element) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.direct = append(l.direct, full.String()+"|"+el.String())
	return true
}

func (l *fakeLocal) StopFromPeer(full jid.JID, cond xmlstream.Condition, text string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stops = append(l.stops, fmt.Sprintf("%s|%s|%s", full, cond, text))
	return true
}

func (l *fakeLocal) snapshot() (routed []*xmlstream.Element, direct, stops []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.routed), slices.Clone(l.direct), slices.Clone(l.stops)
}

// testNode is one mesh on a real cluster port.
type testNode struct {
	name  string
	dir   string
	port  *cluster.Port
	mesh  *Mesh
	local *fakeLocal
}

// testNet is a set of nodes that are all members of one cluster.
type testNet struct {
	t     *testing.T
	mu    sync.Mutex
	nodes []*testNode
	cfg   func(*Config)
}

func (n *testNet) members() []cluster.Peer {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []cluster.Peer
	for _, tn := range n.nodes {
		out = append(out, cluster.Peer{Name: tn.name, Addr: tn.port.Addr()})
	}
	return out
}

func fastConfig(c *Config) {
	c.Heartbeat = 50 * time.Millisecond
	c.Timeout = 300 * time.Millisecond
	c.PollInterval = 50 * time.Millisecond
}

func newNet(t *testing.T, names ...string) *testNet {
	n := &testNet{t: t, cfg: fastConfig}
	for _, name := range names {
		n.add(name, t.TempDir(), "127.0.0.1:0")
	}
	return n
}

func (n *testNet) add(name, dir, addr string) *testNode {
	n.t.Helper()
	p, err := cluster.Listen(cluster.Config{Listen: addr, Secret: "s", DataDir: dir, NodeName: name, Logger: quiet})
	if err != nil {
		n.t.Fatal(err)
	}
	cfg := Config{Port: p, Self: name, Members: n.members, Logger: quiet}
	n.cfg(&cfg)
	m, err := New(cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	tn := &testNode{name: name, dir: dir, port: p, mesh: m, local: &fakeLocal{}}
	n.mu.Lock()
	n.nodes = append(n.nodes, tn)
	n.mu.Unlock()
	m.Start(tn.local)
	n.t.Cleanup(func() { tn.stop() })
	return tn
}

func (tn *testNode) stop() {
	tn.mesh.Close()
	tn.port.Close()
}

// restart brings a stopped node back on the same address and data dir.
func (n *testNet) restart(tn *testNode) *testNode {
	n.mu.Lock()
	n.nodes = slices.DeleteFunc(n.nodes, func(x *testNode) bool { return x == tn })
	n.mu.Unlock()
	return n.add(tn.name, tn.dir, tn.port.Addr())
}

func (n *testNet) node(name string) *testNode {
	for _, tn := range n.nodes {
		if tn.name == name {
			return tn
		}
	}
	n.t.Fatalf("no node %s", name)
	return nil
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (n *testNet) waitMesh() {
	n.t.Helper()
	waitFor(n.t, 5*time.Second, "a full mesh", func() bool {
		for _, tn := range n.nodes {
			if len(tn.mesh.Peers()) != len(n.nodes)-1 {
				return false
			}
		}
		return true
	})
}

func session(t *testing.T, full string) *routertest.Session {
	return routertest.NewSession(t, full, "basic")
}

func jids(rss []router.RemoteSession) []string {
	var out []string
	for _, rs := range rss {
		out = append(out, rs.Node+":"+rs.JID.String())
	}
	slices.Sort(out)
	return out
}

// Sessions published before and after the connection reach the peer's table;
// changes and unbinds follow; nothing of a node's own sessions lands in its table.
func TestTableReplicatesBindsChangesAndUnbinds(t *testing.T) {
	n := newNet(t, "a", "b")
	a, b := n.node("a"), n.node("b")
	early := session(t, "alice@example.com/early")
	a.mesh.Bound(early, 0, true)
	n.waitMesh()
	late := session(t, "alice@example.com/late")
	a.mesh.Bound(late, 0, false)
	b.mesh.Bound(session(t, "bob@example.com/x"), 3, true)

	bare := jid.MustParse("alice@example.com")
	waitFor(t, 2*time.Second, "a's sessions on b", func() bool { return len(b.mesh.Sessions(bare)) == 2 })
	if got := jids(b.mesh.Sessions(bare)); !slices.Equal(got, []string{"a:alice@example.com/early", "a:alice@example.com/late"}) {
		t.Fatalf("b sees %v", got)
	}
	waitFor(t, 2*time.Second, "b's session on a", func() bool { return a.mesh.RemoteCount() == 1 })
	if rs := a.mesh.Sessions(jid.MustParse("bob@example.com")); len(rs) != 1 || rs[0].Priority != 3 || !rs[0].Available || rs[0].HostType != "basic" {
		t.Fatalf("a sees %+v", rs)
	}

	a.mesh.Changed(late, 5, true)
	// A stale session (replaced meanwhile) changes nothing.
	a.mesh.Changed(session(t, "alice@example.com/early"), 9, true)
	waitFor(t, 2*time.Second, "the change", func() bool {
		for _, rs := range b.mesh.Sessions(bare) {
			if rs.JID.Resource() == "late" {
				return rs.Priority == 5 && rs.Available
			}
		}
		return false
	})
	a.mesh.Unbound(session(t, "alice@example.com/early")) // not the published one: ignored
	a.mesh.Unbound(late)
	waitFor(t, 2*time.Second, "the unbind", func() bool { return len(b.mesh.Sessions(bare)) == 1 })
	if rs := b.mesh.Sessions(bare); rs[0].JID.Resource() != "early" || rs[0].Priority != 0 {
		t.Fatalf("b sees %+v", rs)
	}
	if got := jids(b.mesh.SessionsOfDomain("example.com")); len(got) != 1 {
		t.Fatalf("domain view %v", got)
	}
}

// Stanzas, direct deliveries and stops reach the peer's router intact and in order.
func TestForwardingReachesThePeer(t *testing.T) {
	n := newNet(t, "a", "b")
	a, b := n.node("a"), n.node("b")
	n.waitMesh()
	const count = 200
	for i := range count {
		el := routertest.Parse(t, fmt.Sprintf(`<message from="x@example.com/1" to="y@example.com/2" type="chat"><body>m%d &amp; &lt;é&gt;</body></message>`, i))
		if !a.mesh.Route("b", el) {
			t.Fatal("Route refused")
		}
	}
	reply := routertest.Parse(t, `<iq from="y@example.com/2" to="x@example.com/1" type="result" id="q"/>`)
	a.mesh.Deliver("b", jid.MustParse("x@example.com/1"), reply)
	a.mesh.Stop("b", jid.MustParse("x@example.com/1"), "conflict", "Replaced by new connection")
	if a.mesh.Route("nobody", reply) {
		t.Error("Route to an unknown node succeeded")
	}
	waitFor(t, 5*time.Second, "everything", func() bool {
		_, _, stops := b.local.snapshot()
		return len(stops) == 1
	})
	routed, direct, stops := b.local.snapshot()
	if len(routed) != count {
		t.Fatalf("%d stanzas routed, want %d", len(routed), count)
	}
	for i, el := range routed {
		if want := fmt.Sprintf("m%d & <é>", i); el.Child(nsClient, "body").Text() != want || el.Space != nsClient {
			t.Fatalf("stanza %d: %s", i, el)
		}
	}
	if len(direct) != 1 || direct[0] != `x@example.com/1|<iq xmlns="jabber:client" from="y@example.com/2" to="x@example.com/1" type="result" id="q"/>` {
		t.Fatalf("direct %v", direct)
	}
	if stops[0] != "x@example.com/1|conflict|Replaced by new connection" {
		t.Fatalf("stops %v", stops)
	}
}

// A node that goes away, cleanly or silently, takes its sessions out of the others'
// tables; when it comes back the tables resynchronise.
func TestDeadPeerIsDroppedAndResyncsOnReturn(t *testing.T) {
	n := newNet(t, "a", "b", "c")
	a, b, c := n.node("a"), n.node("b"), n.node("c")
	n.waitMesh()
	for i := range 50 {
		c.mesh.Bound(session(t, fmt.Sprintf("u%d@example.com/r", i)), 0, true)
	}
	waitFor(t, 2*time.Second, "c's sessions", func() bool { return a.mesh.NodeCount("c") == 50 && b.mesh.NodeCount("c") == 50 })

	// Silent: c stops talking (a partition); heartbeats time out.
	start := time.Now()
	c.port.Block(a.port.Addr(), b.port.Addr())
	a.port.Block(c.port.Addr())
	b.port.Block(c.port.Addr())
	waitFor(t, 2*time.Second, "c's sessions dropped", func() bool { return a.mesh.NodeCount("c") == 0 && b.mesh.NodeCount("c") == 0 })
	t.Logf("dropped %v after the partition", time.Since(start))
	c.mesh.Bound(session(t, "new@example.com/r"), 0, true)
	for _, p := range []*cluster.Port{a.port, b.port, c.port} {
		p.Block()
	}
	waitFor(t, 3*time.Second, "resync after healing", func() bool { return a.mesh.NodeCount("c") == 51 && b.mesh.NodeCount("c") == 51 })

	// Crash-like: the port closes.
	c.stop()
	waitFor(t, time.Second, "c's sessions dropped", func() bool { return a.mesh.NodeCount("c") == 0 && b.mesh.NodeCount("c") == 0 })
	if got := a.mesh.Peers(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("a's peers %v", got)
	}
	c = n.restart(c)
	c.mesh.Bound(session(t, "back@example.com/r"), 0, true)
	waitFor(t, 3*time.Second, "the restarted node's table", func() bool { return a.mesh.NodeCount("c") == 1 && b.mesh.NodeCount("c") == 1 })
	// And it learns the others' tables.
	a.mesh.Bound(session(t, "froma@example.com/r"), 0, true)
	waitFor(t, 2*time.Second, "a's session on c", func() bool { return c.mesh.NodeCount("a") == 1 })
}

// A peer that does not drain its connection makes the queue overflow: Route
// refuses at once instead of blocking or growing, the connection is closed, and
// the mesh dials again.
func TestQueueOverflowClosesAndRedials(t *testing.T) {
	n := &testNet{t: t, cfg: func(c *Config) { fastConfig(c); c.Timeout = 5 * time.Second; c.MaxQueueBytes = 64 << 10 }}
	// z is a cluster port whose mesh handler accepts and never reads.
	z, err := cluster.Listen(cluster.Config{Listen: "127.0.0.1:0", Secret: "s", DataDir: t.TempDir(), NodeName: "z", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	accepted := make(chan net.Conn, 8)
	z.HandleMesh(func(ctx context.Context, c net.Conn, _ cluster.Peer) {
		accepted <- c
		<-ctx.Done()
	})
	n.nodes = append(n.nodes, &testNode{name: "z", port: z})
	a := n.add("a", t.TempDir(), "127.0.0.1:0")
	first := <-accepted
	waitFor(t, 2*time.Second, "a connected to z", func() bool { return len(a.mesh.Peers()) == 1 })
	big := routertest.Parse(t, `<message to="bob@example.com/r" from="alice@example.com/r"><body>`+strings.Repeat("x", 4000)+`</body></message>`)
	start := time.Now()
	refused := false
	for range 100000 {
		if !a.mesh.Route("z", big) {
			refused = true
			break
		}
	}
	if !refused {
		t.Fatal("400 MB queued for a peer that reads nothing")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Route blocked: %v to overflow", d)
	}
	select {
	case c := <-accepted:
		if c == first {
			t.Fatal("same connection")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no new connection after the overflow")
	}
}

// A peer that stays connected but goes silent (a hung process, a dead host whose
// socket never closes) is declared dead after Timeout without heartbeats.
func TestSilentPeerTimesOut(t *testing.T) {
	n := &testNet{t: t, cfg: fastConfig}
	z, err := cluster.Listen(cluster.Config{Listen: "127.0.0.1:0", Secret: "s", DataDir: t.TempDir(), NodeName: "z", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	sent := make(chan time.Time, 8)
	z.HandleMesh(func(ctx context.Context, c net.Conn, _ cluster.Peer) {
		b := appendHello(nil)
		b = appendAdd(b, "zed@example.com/r", "basic", 0, true)
		b = appendEmpty(b, frameSynced)
		if _, err := c.Write(b); err != nil {
			return
		}
		sent <- time.Now()
		<-ctx.Done() // then nothing, not even heartbeats
	})
	n.nodes = append(n.nodes, &testNode{name: "z", port: z})
	a := n.add("a", t.TempDir(), "127.0.0.1:0")
	at := <-sent
	waitFor(t, time.Second, "z's session on a", func() bool { return a.mesh.NodeCount("z") == 1 })
	waitFor(t, 2*time.Second, "z's session dropped", func() bool { return a.mesh.NodeCount("z") == 0 })
	if d := time.Since(at); d < 300*time.Millisecond {
		t.Fatalf("dropped after %v, before the 300ms timeout", d)
	}
}

// A member removed from the configuration is disconnected and forgotten.
func TestRemovedMemberIsCut(t *testing.T) {
	n := newNet(t, "a", "b")
	a, b := n.node("a"), n.node("b")
	n.waitMesh()
	b.mesh.Bound(session(t, "bob@example.com/r"), 0, true)
	waitFor(t, 2*time.Second, "bob on a", func() bool { return a.mesh.NodeCount("b") == 1 })
	n.mu.Lock()
	n.nodes = n.nodes[:1]
	n.mu.Unlock()
	waitFor(t, 2*time.Second, "b cut", func() bool { return a.mesh.NodeCount("b") == 0 && len(a.mesh.Peers()) == 0 })
}
