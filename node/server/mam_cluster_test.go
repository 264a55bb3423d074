package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/mam"
	"github.com/mongoose-go/mongoose-go/xmpp/muclight"
)

// TestMAMOncePerOwnerAcrossNodes: with bob's sessions on two nodes, every message
// for him is archived exactly once in his archive, whichever node routes it (the
// router runs the filter chain, archiving included, on exactly one node per stanza),
// both sessions see the same stanza-id, and a group message is archived once per
// room.
func TestMAMOncePerOwnerAcrossNodes(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, "mam", 2, func(cfg *config.Config) {
		cfg.Modules[muclight.Name] = config.Module{Name: muclight.Name}
		cfg.Modules[mam.Name] = config.Module{Name: mam.Name, Opts: map[string]any{
			"pm": map[string]any{}, "muc": map[string]any{"host": "muclight.@HOST@"}}}
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
	login := func(s *server.Server, user, res string) *meshtest.Client {
		c, err := meshtest.Login(s.C2SAddrs()[0], user, "a.example", "pw", res)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		isoSend(t, c, `<presence/>`)
		if _, err := c.Expect(meshtest.Timeout, meshtest.Named("presence")); err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			isoWait(t, c.JID.String()+" on every node", func() bool {
				for _, s := range n.Router.Sessions("a.example", user) {
					if s.JID() == c.JID {
						return true
					}
				}
				return false
			})
		}
		return c
	}
	alice, bob1, bob2, carol := login(nodes[0], "alice", "a"), login(nodes[0], "bob", "one"),
		login(nodes[1], "bob", "two"), login(nodes[1], "carol", "c")
	sid := func(c *meshtest.Client, body, by string) string {
		t.Helper()
		el, err := c.Expect(meshtest.Timeout, meshtest.Body(body))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, ch := range el.ChildrenNamed(mam.NSStanzaID, "stanza-id") {
			if ch.Attr("by") == by {
				ids = append(ids, ch.Attr("id"))
			}
		}
		if len(ids) != 1 {
			t.Fatalf("%s: %d stanza-ids by %s in %s", c.JID, len(ids), by, el.AppendXML(nil, ""))
		}
		return ids[0]
	}
	// To the bare JID from either node (both of bob's sessions get it), and to the
	// full JID of the session on the other node.
	isoSend(t, alice, `<message type="chat" to="bob@a.example"><body>bare from 1</body></message>`)
	if a, b := sid(bob1, "bare from 1", "bob@a.example"), sid(bob2, "bare from 1", "bob@a.example"); a != b {
		t.Fatalf("bob's sessions saw stanza-ids %s and %s", a, b)
	}
	isoSend(t, carol, `<message type="chat" to="bob@a.example"><body>bare from 2</body></message>`)
	if a, b := sid(bob1, "bare from 2", "bob@a.example"), sid(bob2, "bare from 2", "bob@a.example"); a != b {
		t.Fatalf("bob's sessions saw stanza-ids %s and %s", a, b)
	}
	isoSend(t, alice, `<message type="chat" to="bob@a.example/two"><body>full on 2</body></message>`)
	sid(bob2, "full on 2", "bob@a.example")

	const room = "y@muclight.a.example"
	isoSend(t, alice, `<iq type="set" id="c" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#create"><occupants>`+
		`<user affiliation="member">bob@a.example</user></occupants></query></iq>`)
	if el, err := alice.Expect(meshtest.Timeout, meshtest.IQ("c")); err != nil || el.Attr("type") != "result" {
		t.Fatalf("create: %v %v", el, err)
	}
	isoWait(t, "the room on the second node", func() bool { return roomExists(t, nodes[1], "a.example", "y") })
	isoSend(t, bob2, `<message type="groupchat" id="g" to="`+room+`"><body>group</body></message>`)
	if a, b := sid(bob1, "group", room), sid(bob2, "group", room); a != b {
		t.Fatalf("room stanza-ids %s and %s", a, b)
	}
	sid(alice, "group", room)

	want := map[string]int{"bob": 3, "alice": 2, "carol": 1, room: 1}
	for i, n := range nodes {
		isoWait(t, fmt.Sprintf("the archives on node %d", i+1), func() bool {
			ok := true
			_ = n.Node.View(func(tx *bolt.Tx) error {
				for owner, w := range want {
					if store.ArchiveCount(tx, "a.example", owner, "") != w {
						ok = false
					}
				}
				return nil
			})
			return ok
		})
	}
	// No late duplicate: every message above is delivered, and counts stay exact.
	_ = nodes[0].Node.View(func(tx *bolt.Tx) error {
		for owner, w := range want {
			page, err := store.QueryArchive(tx, store.ArchiveQuery{Domain: "a.example", User: owner, Max: 100})
			if err != nil || len(page.Messages) != w {
				t.Errorf("%s: %d archived, want %d (%v)", owner, len(page.Messages), w, err)
			}
		}
		return nil
	})
}
