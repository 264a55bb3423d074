package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
)

// smCluster starts a two-node cluster with mod_stream_management's options and
// the accounts alice, bob and carol of sm.example.
func smCluster(t *testing.T, prefix string, opts map[string]any) []*server.Server {
	t.Helper()
	nodes := startCluster(t, prefix, 2, func(cfg *config.Config) {
		if opts != nil {
			smOpts(cfg, opts)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := nodes[0].Node.AddDomain(ctx, "sm.example", "basic"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, err := nodes[0].Node.RegisterUser(ctx, "sm.example", u, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	isoWait(t, "the accounts on the second node", func() bool {
		_, ok := nodes[1].Node.UserCreds("sm.example", "carol")
		return ok
	})
	return nodes
}

// aliceSessions returns where node s sees alice's sessions: "local" or the
// owning node's view as "remote", with availability.
func aliceSessions(s *server.Server) []router.Session {
	return s.Router.Sessions("sm.example", "alice")
}

func isLocal(rs router.Session) bool { _, ok := rs.(module.Session); return ok }

// awaitBound waits until every node sees alice/phone, held by node holder.
func awaitBound(t *testing.T, nodes []*server.Server, holder int) {
	t.Helper()
	for i, n := range nodes {
		isoWait(t, "alice/phone on the right node", func() bool {
			ss := aliceSessions(n)
			return len(ss) == 1 && ss[0].JID().String() == "alice@sm.example/phone" && isLocal(ss[0]) == (i == holder)
		})
	}
}

// wantMessages reads until the bodies arrived, in order, skipping <r/>.
func (c *smClient) wantMessages(bodies ...string) {
	c.t.Helper()
	var got []string
	for len(got) < len(bodies) {
		el := c.next()
		if el == nil {
			c.t.Fatalf("stream ended after %v, want %v", got, bodies)
		}
		if el.Local == "message" {
			got = append(got, body(el))
		}
	}
	if strings.Join(got, ",") != strings.Join(bodies, ",") {
		c.t.Fatalf("got %v, want %v", got, bodies)
	}
}

// TestSMResumeOnOtherNode: a session enabled on node A whose connection dropped is
// resumed on node B: <resumed/> with A's h, the unacknowledged message and those
// sent while detached, then new messages arrive on B, the session table holds it
// on B only, and it is still available (bare-JID messages reach it).
func TestSMResumeOnOtherNode(t *testing.T) {
	t.Parallel()
	nodes := smCluster(t, "smx", nil)
	addrA, addrB := nodes[0].C2SAddrs()[0], nodes[1].C2SAddrs()[0]
	bob := rawLogin(t, addrA, "bob", "sm.example")

	a := smAuth(t, addrA, "alice", "sm.example")
	id := a.enable("phone")
	a.send(`<presence/>`) // available; its echo is the first stanza counted
	a.want("presence")
	a.send(`<a xmlns='urn:xmpp:sm:3' h='1'/>`)
	a.send(meshtest.Message("bob@sm.example", "from alice"))
	if _, err := bob.Expect(smWait, meshtest.Body("from alice")); err != nil {
		t.Fatal(err)
	}
	awaitBound(t, nodes, 0)
	bob.Send(meshtest.Message("alice@sm.example/phone", "m1"))
	a.wantMessages("m1") // received, never acknowledged
	a.conn.Close()       // no </stream:stream>

	// Detached on A: kept, neither bounced nor stored offline.
	bob.Send(meshtest.Message("alice@sm.example/phone", "m2"))
	bob.Send(meshtest.Message("alice@sm.example/phone", "m3"))
	awaitOffline(t, nodes[0], "sm.example", "alice", 0)

	b := smAuth(t, addrB, "alice", "sm.example")
	b.resume(id, 1)
	el := b.want("resumed")
	wantH(t, el, 2) // alice's presence and message
	if el.Attr("previd") != id {
		t.Fatalf("resumed: %v", el)
	}
	b.wantMessages("m1", "m2", "m3")
	awaitBound(t, nodes, 1)

	bob.Send(meshtest.Message("alice@sm.example/phone", "m4"))
	b.wantMessages("m4")
	// Still available with its presence: a bare-JID message reaches it.
	ss := aliceSessions(nodes[0])
	if p, ok := ss[0].(router.Prioritized); !ok {
		t.Fatalf("remote session without priority: %T", ss[0])
	} else if prio, avail := p.Priority(); !avail || prio != 0 {
		t.Fatalf("alice on B seen from A: priority %d available %v", prio, avail)
	}
	bob.Send(meshtest.Message("alice@sm.example", "to bare"))
	b.wantMessages("to bare")
	// Counting goes on from A's counters.
	b.send(`<a xmlns='urn:xmpp:sm:3' h='6'/>`)
	b.send(meshtest.Message("bob@sm.example", "from B"))
	if _, err := bob.Expect(smWait, meshtest.Body("from B")); err != nil {
		t.Fatal(err)
	}
	b.send(`<r xmlns='urn:xmpp:sm:3'/>`)
	for el := b.next(); ; el = b.next() {
		if el == nil || body(el) != "" {
			t.Fatalf("unexpected %v", el)
		}
		if el.Local == "a" {
			wantH(t, el, 3)
			break
		}
	}
	// The old session's close hooks never ran: nothing was stored offline.
	awaitOffline(t, nodes[0], "sm.example", "alice", 0)

	// Back to A while B's connection is still up (the client lost it without B
	// noticing): the id, tagged with A, is found on B; B's connection is closed as
	// a replaced one and the unacknowledged message comes with <resumed/>.
	bob.Send(meshtest.Message("alice@sm.example/phone", "m5"))
	b.wantMessages("m5")
	a2 := smAuth(t, addrA, "alice", "sm.example")
	a2.resume(id, 6)
	wantH(t, a2.want("resumed"), 3)
	a2.wantMessages("m5")
	for el := b.next(); ; el = b.next() {
		if el == nil {
			t.Fatal("B's connection ended without <conflict/>")
		}
		if el.Local == "error" {
			if el.Child("urn:ietf:params:xml:ns:xmpp-streams", "conflict") == nil {
				t.Fatalf("B's connection: %v", el)
			}
			break
		}
	}
	awaitBound(t, nodes, 0)
	bob.Send(meshtest.Message("alice@sm.example/phone", "m6"))
	a2.wantMessages("m6")
}

// TestSMResumeOnOtherNodeRefused: another account's id, an unknown id, an h beyond
// what was sent, an id whose session ended, and a resumption after the old node's
// timeout (whose messages went offline, as on one node).
func TestSMResumeOnOtherNodeRefused(t *testing.T) {
	t.Parallel()
	nodes := smCluster(t, "smr", map[string]any{"resume_timeout": int64(1)})
	addrA, addrB := nodes[0].C2SAddrs()[0], nodes[1].C2SAddrs()[0]
	bob := rawLogin(t, addrA, "bob", "sm.example")

	a := smAuth(t, addrA, "alice", "sm.example")
	id := a.enable("phone")
	bob.Send(meshtest.Message("alice@sm.example/phone", "m1"))
	a.wantMessages("m1")
	a.conn.Close()

	c := smAuth(t, addrB, "carol", "sm.example")
	c.wantResumeFailed(id, 0, "item-not-found", "carol resuming alice's id")
	c.wantResumeFailed(id[:8]+"nosuchid", 0, "item-not-found", "unknown id")
	c.bind("desk") // the stream is still usable

	// h beyond what A sent: the same stream error as on one node, and A keeps the
	// session (it goes offline at its timeout below).
	b := smAuth(t, addrB, "alice", "sm.example")
	b.resume(id, 5)
	for el := b.next(); ; el = b.next() {
		if el == nil {
			t.Fatal("the stream ended without <undefined-condition/>")
		}
		if el.Local == "error" {
			if el.Child("urn:ietf:params:xml:ns:xmpp-streams", "undefined-condition") == nil ||
				!strings.Contains(el.String(), "h beyond what was sent") {
				t.Fatalf("stream error: %v", el)
			}
			break
		}
	}

	// After A's timeout: not found, and m1 went offline on A's side.
	awaitOffline(t, nodes[0], "sm.example", "alice", 1)
	b2 := smAuth(t, addrB, "alice", "sm.example")
	b2.wantResumeFailed(id, 0, "item-not-found", "resume after the timeout")
	b2.bind("phone")

	// Resumed once on B, then closed cleanly there: a second resumption of the id,
	// on either node, is not found.
	a3 := smAuth(t, addrA, "alice", "sm.example")
	id3 := a3.enable("tablet")
	a3.conn.Close()
	b3 := smAuth(t, addrB, "alice", "sm.example")
	b3.resume(id3, 0)
	b3.want("resumed")
	b3.send(`</stream:stream>`)
	for el := b3.next(); el != nil; el = b3.next() {
	}
	for _, addr := range []string{addrA, addrB} {
		again := smAuth(t, addr, "alice", "sm.example")
		again.resume(id3, 0)
		if el := again.next(); !failedWith(el, "item-not-found") {
			t.Fatalf("second resumption at %s: %v", addr, el)
		}
	}
}
