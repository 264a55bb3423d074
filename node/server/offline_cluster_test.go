package server_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// TestOfflineDeliveredOnceAcrossNodes: two resources of a user with an offline
// queue become available at the same moment, one on each node. The queue's owner
// node delivers it once, in order, to one of them, and empties it.
func TestOfflineDeliveredOnceAcrossNodes(t *testing.T) {
	t.Parallel()
	const domain, n = "off.example", 5
	nodes := startCluster(t, "offx", 2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := nodes[0].Node.AddDomain(ctx, domain, "basic"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := nodes[0].Node.RegisterUser(ctx, domain, u, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	isoWait(t, "the accounts on the second node", func() bool {
		_, ok := nodes[1].Node.UserCreds(domain, "bob")
		return ok
	})
	addrs := []string{nodes[0].C2SAddrs()[0], nodes[1].C2SAddrs()[0]}
	alice := rawLogin(t, addrs[0], "alice", domain)

	for round := range 4 {
		var want []string
		for i := range n {
			want = append(want, fmt.Sprintf("r%d-%d", round, i))
			isoSend(t, alice, meshtest.Message("bob@"+domain, want[i]))
		}
		for _, s := range nodes {
			awaitOffline(t, s, domain, "bob", n)
		}
		var bobs []*meshtest.Client
		for i, addr := range addrs {
			c, err := meshtest.Login(addr, "bob", domain, "pw", fmt.Sprintf("res%d", i))
			if err != nil {
				t.Fatal(err)
			}
			bobs = append(bobs, c)
		}
		var wg sync.WaitGroup
		for _, c := range bobs {
			wg.Go(func() { _ = c.Send(`<presence/>`) })
		}
		wg.Wait()
		// The queue is delivered from the availability hook, before the session's
		// own presence comes back to it: once both echoes are in, every delivery is.
		var got [][]string
		for _, c := range bobs {
			var bodies []string
			if _, err := c.Expect(meshtest.Timeout, func(el *xmlstream.Element) bool {
				if b := body(el); b != "" {
					bodies = append(bodies, b)
				}
				return el.Local == "presence" && el.Attr("from") == c.JID.String()
			}); err != nil {
				t.Fatal(err)
			}
			got = append(got, bodies)
		}
		if !(slices.Equal(got[0], want) && len(got[1]) == 0) && !(slices.Equal(got[1], want) && len(got[0]) == 0) {
			t.Fatalf("round %d: node 1's resource got %v, node 2's %v; want %v once", round, got[0], got[1], want)
		}
		for _, s := range nodes {
			awaitOffline(t, s, domain, "bob", 0)
		}
		for _, c := range bobs {
			c.Close()
		}
		// Gone everywhere before the next round's messages, which must go offline.
		isoWait(t, "bob's sessions to end", func() bool {
			return len(nodes[0].Router.Sessions(domain, "bob")) == 0 && len(nodes[1].Router.Sessions(domain, "bob")) == 0
		})
	}
}
