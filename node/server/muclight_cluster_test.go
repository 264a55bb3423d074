package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/muclight"
)

// TestMUCLightAcrossNodes: a room created on one node is used from another, and a
// group message reaches occupants whose sessions are on either node.
func TestMUCLightAcrossNodes(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, "muc", 2, func(cfg *config.Config) {
		cfg.Modules[muclight.Name] = config.Module{Name: muclight.Name}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := nodes[0].Node.AddDomain(ctx, "a.example", "basic"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, err := nodes[0].Node.RegisterUser(ctx, "a.example", u, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	isoWait(t, "the accounts on the second node", func() bool {
		_, ok := nodes[1].Node.UserCreds("a.example", "carol")
		return ok
	})
	login := func(s *server.Server, user string) *mc {
		c := mucLogin(t, s.C2SAddrs()[0], user, "a.example")
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
	alice, bob, carol := login(nodes[0], "alice"), login(nodes[1], "bob"), login(nodes[1], "carol")
	const room = "x@muclight.a.example"
	wantIQResult(t, muciq(t, alice, "c", `<iq type="set" id="c" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#create"><occupants>`+
		`<user affiliation="member">bob@a.example</user><user affiliation="member">carol@a.example</user></occupants></query></iq>`))
	expectEl(t, bob, xIn(room, muclight.NSAffs))
	expectEl(t, carol, xIn(room, muclight.NSAffs))
	isoWait(t, "the room on the second node", func() bool { return roomExists(t, nodes[1], "a.example", "x") })
	isoSend(t, bob.Client, `<message type="groupchat" id="m1" to="`+room+`"><body>from node 2</body></message>`)
	for _, c := range []*mc{alice, bob, carol} {
		if el := expectEl(t, c, meshtest.Body("from node 2")); el.Attr("from") != room+"/bob@a.example" || el.Attr("id") != "m1" {
			t.Fatalf("%s: %s", c.JID, el.AppendXML(nil, ""))
		}
	}
	isoSend(t, alice.Client, `<message type="groupchat" id="m2" to="`+room+`"><body>from node 1</body></message>`)
	for _, c := range []*mc{alice, bob, carol} {
		expectEl(t, c, meshtest.Body("from node 1"))
	}
}
