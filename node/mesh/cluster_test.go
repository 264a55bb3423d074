package mesh_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// In-process clusters of whole servers (node, router, c2s, admin API, mesh) on
// loopback: the first bootstraps, the others join it.

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

type tnode struct {
	name string
	dir  string
	addr string // cluster address, kept across restarts
	join []string
	s    *server.Server
}

type tcluster struct {
	t     testing.TB
	nodes []*tnode
}

func startCluster(t testing.TB, size int) *tcluster {
	t.Helper()
	c := &tcluster{t: t}
	for i := range size {
		n := &tnode{name: fmt.Sprintf("n%d@localhost", i+1), dir: t.TempDir(), addr: "127.0.0.1:0"}
		if i > 0 {
			n.join = []string{c.nodes[0].addr}
		}
		c.start(n)
		c.nodes = append(c.nodes, n)
	}
	c.waitMesh()
	return c
}

func (c *tcluster) start(n *tnode) {
	c.t.Helper()
	cfg := server.TestConfig(n.dir)
	cfg.Cluster.NodeName = n.name
	cfg.Cluster.Listen = n.addr
	cfg.Cluster.Join = n.join
	cfg.Cluster.Secret = "mesh-test-secret"
	s, err := server.Start(cfg, server.Options{Logger: quietLog})
	if err != nil {
		c.t.Fatalf("start %s: %v", n.name, err)
	}
	n.s, n.addr = s, s.Node.RaftAddr()
	c.t.Cleanup(func() {
		if n.s != nil {
			n.s.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		c.t.Fatalf("%s: %v", n.name, err)
	}
}

// kill stops a node the way a crash does for its peers: the cluster port and every
// mesh connection drop at once, without the node unpublishing its sessions.
func (c *tcluster) kill(n *tnode) {
	n.s.Node.Port().Close()
	n.s.Close()
	n.s = nil
}

func (c *tcluster) live() []*tnode {
	var out []*tnode
	for _, n := range c.nodes {
		if n.s != nil {
			out = append(out, n)
		}
	}
	return out
}

func (c *tcluster) waitMesh() {
	c.t.Helper()
	live := c.live()
	waitUntil(c.t, 10*time.Second, "a full mesh", func() bool {
		for _, n := range live {
			if len(n.s.Mesh().Peers()) != len(live)-1 {
				return false
			}
		}
		return true
	})
}

func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *tcluster) provision(domain string, users ...string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := c.live()[0].s.Node
	if err := n.AddDomain(ctx, domain, "basic"); err != nil {
		c.t.Fatal(err)
	}
	for _, u := range users {
		if _, err := n.RegisterUser(ctx, domain, u, "pw-"+u); err != nil {
			c.t.Fatal(err)
		}
	}
	// Every node has applied it once the last write is visible everywhere.
	for _, x := range c.live() {
		waitUntil(c.t, 5*time.Second, "the accounts on "+x.name, func() bool {
			_, ok := x.s.Node.UserCreds(domain, users[len(users)-1])
			return ok
		})
	}
}

// login logs user@domain in on node n and waits until every other live node's
// table knows the session.
func (c *tcluster) login(n *tnode, user, domain, resource string) *meshtest.Client {
	c.t.Helper()
	cl, err := meshtest.Login(n.s.C2SAddrs()[0], user, domain, "pw-"+user, resource)
	if err != nil {
		c.t.Fatalf("%s@%s/%s on %s: %v", user, domain, resource, n.name, err)
	}
	c.t.Cleanup(cl.Kill)
	c.waitKnown(cl.JID, true)
	return cl
}

// waitKnown waits until every live node but the session's own lists full (or,
// with want=false, none lists it).
func (c *tcluster) waitKnown(full jid.JID, want bool) {
	c.t.Helper()
	waitUntil(c.t, 5*time.Second, fmt.Sprintf("%s known=%v cluster-wide", full, want), func() bool {
		for _, n := range c.live() {
			found := false
			for _, s := range n.s.Router.Sessions(full.Domain(), full.Local()) {
				if s.JID() == full {
					found = true
				}
			}
			if found != want {
				return false
			}
		}
		return true
	})
}

func send(t testing.TB, cl *meshtest.Client, raw string) {
	t.Helper()
	if err := cl.Send(raw); err != nil {
		t.Fatal(err)
	}
}

func expect(t testing.TB, cl *meshtest.Client, match func(*xmlstream.Element) bool) *xmlstream.Element {
	t.Helper()
	el, err := cl.Expect(meshtest.Timeout, match)
	if err != nil {
		t.Fatal(err)
	}
	return el
}

func TestClusterRouting(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	c := startCluster(t, 3)
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	const dom = "mesh.example"
	c.provision(dom, "alice", "bob", "dave", "erin")
	alice := c.login(n1, "alice", dom, "pc")
	bob := c.login(n2, "bob", dom, "phone")

	t.Run("chat, presence and IQ between nodes", func(t *testing.T) {
		send(t, alice, meshtest.Message(bob.JID.String(), "hello bob & co"))
		if m := expect(t, bob, meshtest.Body("hello bob & co")); m.Attr("from") != alice.JID.String() {
			t.Fatalf("from %q", m.Attr("from"))
		}
		send(t, bob, meshtest.Message(alice.JID.String(), "hi alice"))
		expect(t, alice, meshtest.Body("hi alice"))

		send(t, alice, `<presence to='`+bob.JID.String()+`'><status>directed</status></presence>`)
		if p := expect(t, bob, meshtest.Named("presence")); p.Attr("from") != alice.JID.String() {
			t.Fatalf("presence %s", p)
		}

		send(t, alice, `<iq type='get' id='q1' to='`+bob.JID.String()+`'><query xmlns='urn:example:test'/></iq>`)
		q := expect(t, bob, meshtest.IQ("q1"))
		if q.Attr("from") != alice.JID.String() || q.Attr("type") != "get" {
			t.Fatalf("iq %s", q)
		}
		send(t, bob, `<iq type='result' id='q1' to='`+alice.JID.String()+`'><query xmlns='urn:example:test'>ok</query></iq>`)
		if r := expect(t, alice, meshtest.IQ("q1")); r.Attr("type") != "result" || r.Attr("from") != bob.JID.String() {
			t.Fatalf("reply %s", r)
		}

		// A request to a resource bound nowhere is answered by the server.
		send(t, alice, `<iq type='get' id='q2' to='bob@`+dom+`/nowhere'><query xmlns='urn:example:test'/></iq>`)
		if r := expect(t, alice, meshtest.IQ("q2")); r.Attr("type") != "error" {
			t.Fatalf("reply %s", r)
		}
	})

	t.Run("bare JID reaches resources on two nodes", func(t *testing.T) {
		d2 := c.login(n2, "dave", dom, "two")
		d3 := c.login(n3, "dave", dom, "three")
		// Presence to one's own bare JID is a broadcast too (mod_presence takes it
		// before the router): availability is republished either way.
		send(t, d2, `<presence/>`)
		send(t, d3, `<presence to='dave@`+dom+`'/>`)
		waitPrio := func(want map[string]int) {
			t.Helper()
			waitUntil(t, 5*time.Second, fmt.Sprintf("dave's priorities %v on n1", want), func() bool {
				got := map[string]int{}
				for _, rs := range n1.s.Mesh().Sessions(d2.JID.Bare()) {
					if rs.Available {
						got[rs.JID.Resource()] = rs.Priority
					}
				}
				return maps.Equal(got, want)
			})
		}
		waitPrio(map[string]int{"two": 0, "three": 0})
		send(t, alice, meshtest.Message("dave@"+dom, "to all of dave"))
		expect(t, d2, meshtest.Body("to all of dave"))
		expect(t, d3, meshtest.Body("to all of dave"))

		// A higher priority on n3 wins, cluster-wide.
		send(t, d3, `<presence><priority>10</priority></presence>`)
		waitPrio(map[string]int{"two": 0, "three": 10})
		send(t, alice, meshtest.Message("dave@"+dom, "only three"))
		expect(t, d3, meshtest.Body("only three"))
		// Anything n3 handed to d2 would be ahead of this on the n3-n2 connection.
		send(t, d3, meshtest.Message(d2.JID.String(), "marker"))
		if m := expect(t, d2, meshtest.Named("message")); m.Child("jabber:client", "body").Text() != "marker" {
			t.Fatalf("d2 got %s", m)
		}
	})

	t.Run("admin API lists sessions cluster-wide", func(t *testing.T) {
		for _, n := range c.live() {
			resp, err := http.Get("http://" + n.s.AdminAddrs()[0] + "/api/sessions/" + dom)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			err = json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"alice@" + dom + "/pc", "bob@" + dom + "/phone", "dave@" + dom + "/three", "dave@" + dom + "/two"}
			if !slices.Equal(got, want) {
				t.Fatalf("%s lists %v, want %v", n.name, got, want)
			}
		}

		// A kick through n1 stops a session on n3.
		victim := c.login(n3, "dave", dom, "kickme")
		if code := rest(t, "DELETE", n1, "/sessions/"+dom+"/dave/kickme", ""); code != http.StatusNoContent {
			t.Fatalf("kick: %d", code)
		}
		select {
		case <-victim.Done():
		case <-time.After(meshtest.Timeout):
			t.Fatal("kicked session still open")
		}
		if cond, text := victim.StreamError(); cond != "conflict" || text != "kicked" {
			t.Fatalf("kicked with %q %q", cond, text)
		}

		// A stanza posted on n3 reaches bob on n2.
		body := `{"stanza":"<message from='alice@` + dom + `' to='` + bob.JID.String() + `' type='chat'><body>via REST</body></message>"}`
		if code := rest(t, "POST", n3, "/stanzas", body); code != http.StatusNoContent {
			t.Fatalf("post stanza: %d", code)
		}
		expect(t, bob, meshtest.Body("via REST"))
	})

	t.Run("binding a JID bound on another node replaces it", func(t *testing.T) {
		old := c.login(n1, "erin", dom, "desk")
		repl, err := meshtest.Login(n3.s.C2SAddrs()[0], "erin", dom, "pw-erin", "desk")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(repl.Kill)
		select {
		case <-old.Done():
		case <-time.After(meshtest.Timeout):
			t.Fatal("the replaced session on n1 is still open")
		}
		if cond, text := old.StreamError(); cond != "conflict" || text != "Replaced by new connection" {
			t.Fatalf("old session ended with %q %q", cond, text)
		}
		waitUntil(t, 5*time.Second, "erin only on n3", func() bool {
			ss := n2.s.Mesh().Sessions(repl.JID.Bare())
			return len(ss) == 1 && ss[0].Node == n3.name
		})
		send(t, bob, meshtest.Message(repl.JID.String(), "for the new erin"))
		expect(t, repl, meshtest.Body("for the new erin"))
	})

	t.Run("a dead node's sessions vanish and come back with it", func(t *testing.T) {
		carol := c.provisionAndLogin(n3, "carol", "gone.example")
		start := time.Now()
		c.kill(n3)
		c.waitKnownOn(c.live(), carol.JID, false, 5*time.Second)
		t.Logf("n3's sessions left the other tables %v after it died", time.Since(start))

		c.start(n3)
		c.waitMesh()
		// n3 learnt the others' sessions back.
		waitUntil(t, 5*time.Second, "alice in n3's table", func() bool {
			return len(n3.s.Mesh().Sessions(alice.JID.Bare())) == 1
		})
		carol2 := c.login(n3, "carol", "gone.example", "again")
		send(t, alice, `<message type='chat' to='`+carol2.JID.String()+`'><body>welcome back</body></message>`)
		expect(t, carol2, meshtest.Body("welcome back"))
	})

	t.Run("disabling a domain closes its sessions on every node within a second", func(t *testing.T) {
		const tenant = "tenant.example"
		c.provision(tenant, "u1", "u2", "u3")
		var cls []*meshtest.Client
		for i, n := range c.live() {
			cls = append(cls, c.login(n, fmt.Sprintf("u%d", i+1), tenant, "r"))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := n2.s.Node.SetDomainEnabled(ctx, tenant, false); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(time.Second)
		for _, cl := range cls {
			select {
			case <-cl.Done():
			case <-deadline:
				t.Fatalf("%s still connected a second after the domain was disabled", cl.JID)
			}
		}
		for _, cl := range cls {
			c.waitKnown(cl.JID, false)
		}
	})
}

func (c *tcluster) provisionAndLogin(n *tnode, user, domain string) *meshtest.Client {
	c.t.Helper()
	c.provision(domain, user)
	return c.login(n, user, domain, "r")
}

func (c *tcluster) waitKnownOn(nodes []*tnode, full jid.JID, want bool, d time.Duration) {
	c.t.Helper()
	waitUntil(c.t, d, fmt.Sprintf("%s known=%v", full, want), func() bool {
		for _, n := range nodes {
			found := false
			for _, rs := range n.s.Mesh().Sessions(full.Bare()) {
				found = found || rs.JID == full
			}
			if found != want {
				return false
			}
		}
		return true
	})
}

func rest(t testing.TB, method string, n *tnode, path, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+n.s.AdminAddrs()[0]+"/api"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
