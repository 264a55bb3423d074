package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
)

// TestDomainDisableAndRemoveOnEveryNode is reference 10.2 behaviours 9, 10 and 11
// across a two-node cluster, through each node's REST API: a domain disabled on one
// node is out of service on the other too (its session there is closed, new streams
// get <host-unknown/>, the details say disabled); enabled again through the other
// node, it serves logins there at once; removed through that node (204), the
// session on the first node is closed, new streams there get <host-unknown/>, and a
// second removal is not found.
func TestDomainDisableAndRemoveOnEveryNode(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, "acc", 2, nil)
	api := func(i int) string { return "http://" + nodes[i].AdminAddrs()[0] + "/api" }
	c2s := func(i int) string { return nodes[i].C2SAddrs()[0] }
	provisionHT(t, api(0), "basic", "t.example", "alice", "bob")
	isoWait(t, "the accounts on the second node", func() bool {
		_, ok := nodes[1].Node.UserCreds("t.example", "bob")
		return ok
	})
	closedWithin := func(c *meshtest.Client, why string) {
		t.Helper()
		select {
		case <-c.Done():
		case <-time.After(time.Second):
			t.Fatalf("%s still connected a second after %s", c.JID, why)
		}
	}
	refused := func(i int, why string) {
		t.Helper()
		if _, err := meshtest.Login(c2s(i), "alice", "t.example", "pw", "r"); err == nil || !strings.Contains(err.Error(), "host-unknown") {
			t.Fatalf("login on node %d after %s: %v, want <host-unknown/>", i+1, why, err)
		}
	}
	details := func(i int, wantCode int, want string) {
		t.Helper()
		// A write returns once applied on the node that took it; the other node
		// applies it a moment later.
		isoWait(t, fmt.Sprintf("node %d to answer %s", i+1, want), func() bool {
			code, body := restBody(t, "GET", api(i)+"/domains/t.example", "")
			return code == wantCode && body == want
		})
	}

	onSecond := rawLogin(t, c2s(1), "bob", "t.example")
	if code := rest(t, "PATCH", api(0)+"/domains/t.example", `{"enabled":false}`); code != 204 {
		t.Fatalf("disable on node 1: %d", code)
	}
	closedWithin(onSecond, "the domain was disabled on node 1")
	details(1, 200, `{"host_type":"basic","status":"disabled"}`)
	refused(1, "disable")
	refused(0, "disable")

	if code := rest(t, "PATCH", api(1)+"/domains/t.example", `{"enabled":true}`); code != 204 {
		t.Fatalf("enable on node 2: %d", code)
	}
	details(0, 200, `{"host_type":"basic","status":"enabled"}`)
	rawLogin(t, c2s(1), "bob", "t.example")
	onFirst := rawLogin(t, c2s(0), "alice", "t.example")

	if code := rest(t, "DELETE", api(1)+"/domains/t.example", `{"host_type":"basic"}`); code != 204 {
		t.Fatalf("remove on node 2: %d", code)
	}
	closedWithin(onFirst, "the domain was removed on node 2")
	details(0, 404, `"Given domain does not exist"`)
	refused(0, "removal")
	if code, body := restBody(t, "DELETE", api(0)+"/domains/t.example", `{"host_type":"basic"}`); code != 404 || body != `"Given domain does not exist"` {
		t.Fatalf("second removal on node 1: %d %s", code, body)
	}
}

// TestRemovalClosesSessionsFirst: a removal deletes data only once the domain's
// sessions are gone on every node, so when a synchronous DELETE answers, no node
// holds a session of the domain any more (no waiting in the test).
func TestRemovalClosesSessionsFirst(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, "first", 3, nil)
	api := "http://" + nodes[1].AdminAddrs()[0] + "/api"
	provisionHT(t, api, "basic", "gone.example", "u0", "u1", "u2")
	for i, s := range nodes {
		u := fmt.Sprintf("u%d", i)
		isoWait(t, u+" on node "+fmt.Sprint(i+1), func() bool { _, ok := s.Node.UserCreds("gone.example", u); return ok })
		c, err := meshtest.Login(s.C2SAddrs()[0], u, "gone.example", "pw", "r")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	isoWait(t, "every session in node 2's table", func() bool { return len(nodes[1].Router.SessionsOfDomain("gone.example")) == 3 })
	if code, body := restBody(t, "DELETE", api+"/domains/gone.example", `{"host_type":"basic"}`); code != 204 {
		t.Fatalf("remove: %d %s", code, body)
	}
	for i, s := range nodes {
		local := 0
		s.Router.Each(func(rs router.Session) bool {
			if rs.JID().Domain() == "gone.example" {
				local++
			}
			return true
		})
		if local != 0 {
			t.Errorf("node %d still holds %d sessions of the removed domain", i+1, local)
		}
	}
}
