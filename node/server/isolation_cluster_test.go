package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/isolation"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// isoWait polls cond: cluster state (mesh peers, replicated sessions) has no event
// a test can block on.
func isoWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDomainIsolationAcrossNodes: the filter runs on the node that holds the
// recipient's session, and its error reaches a sender on another node.
func TestDomainIsolationAcrossNodes(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, "iso", 2, func(cfg *config.Config) {
		cfg.Modules[isolation.Name] = config.Module{Name: isolation.Name}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, d := range []string{"a.example", "b.example"} {
		if err := nodes[0].Node.AddDomain(ctx, d, "basic"); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"alice", "bob"} {
			if _, err := nodes[0].Node.RegisterUser(ctx, d, u, "pw"); err != nil {
				t.Fatal(err)
			}
		}
	}
	isoWait(t, "the accounts on the second node", func() bool {
		_, ok := nodes[1].Node.UserCreds("b.example", "bob")
		return ok
	})
	login := func(s *server.Server, user, domain string) *meshtest.Client {
		c := rawLogin(t, s.C2SAddrs()[0], user, domain)
		for _, n := range nodes {
			isoWait(t, c.JID.String()+" on every node", func() bool {
				for _, s := range n.Router.Sessions(c.JID.Domain(), c.JID.Local()) {
					if s.JID() == c.JID {
						return true
					}
				}
				return false
			})
		}
		return c
	}
	alice := login(nodes[0], "alice", "a.example")
	bobA := login(nodes[1], "bob", "a.example")
	bobB := login(nodes[1], "bob", "b.example")

	isoSend(t, alice, meshtest.Message(bobA.JID.String(), "same tenant"))
	if _, err := bobA.Expect(meshtest.Timeout, meshtest.Body("same tenant")); err != nil {
		t.Fatal(err)
	}
	isoSend(t, alice, meshtest.Message(bobB.JID.String(), "other tenant"))
	el, err := alice.Expect(meshtest.Timeout, meshtest.Named("message"))
	if err != nil {
		t.Fatal(err)
	}
	e := el.Child(xmlstream.ClientNamespace, "error")
	if el.Attr("type") != "error" || el.Attr("from") != bobB.JID.String() ||
		e == nil || string(e.AppendXML(nil, xmlstream.ClientNamespace)) != isolationError {
		t.Fatalf("error reply %s", el.AppendXML(nil, ""))
	}
	noMessage(t, bobB)
	// And the other way, to a bare JID.
	isoSend(t, bobB, meshtest.Message(jid.MustParse("alice@a.example").String(), "back"))
	if el, err := bobB.Expect(meshtest.Timeout, meshtest.Named("message")); err != nil || el.Attr("type") != "error" {
		t.Fatalf("bob@b.example: %v", err)
	}
	noMessage(t, alice)
}
