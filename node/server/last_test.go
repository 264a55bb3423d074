package server_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

const nsLast = "jabber:iq:last"

// TestLastActivityEndToEnd: a contact subscribed to the user sees 0 seconds while the
// user is online, then the status of the user's last unavailable presence after the
// logout; a stranger is refused; the server answers with its uptime.
func TestLastActivityEndToEnd(t *testing.T) {
	s, api := startTLS(t)
	addr := s.C2SAddrs()[0]
	provision(t, api, "la.example", "alice", "bob", "carol")
	if code, body := restBody(t, "PUT", api+"/contacts/alice@la.example/bob@la.example/manage", `{"action":"connect"}`); code != 204 {
		t.Fatalf("connect: %d %s", code, body)
	}
	alice := imLogin(t, addr, "alice@la.example", "pw")
	carol := imLogin(t, addr, "carol@la.example", "pw")
	bob := imLogin(t, addr, "bob@la.example", "pw")
	bob.send(`<presence/>`)
	bob.expectFrom(bob.jid())

	query := func(c *imClient, to string) *xmlstream.Element {
		t.Helper()
		return c.iq("l", `<iq type='get' id='l' to='`+to+`'><query xmlns='jabber:iq:last'/></iq>`)
	}
	if el := query(alice, "bob@la.example"); el.Child(nsLast, "query") == nil || el.Child(nsLast, "query").Attr("seconds") != "0" {
		t.Fatalf("online contact: %s", el)
	}
	if got := carol.iqSummary("l", `<iq type='get' id='l' to='bob@la.example'><query xmlns='jabber:iq:last'/></iq>`); got != "error iq/forbidden" {
		t.Fatalf("stranger: %s", got)
	}

	bob.send(`<presence type='unavailable'><status>gone fishing</status></presence>`)
	if err := bob.Close(); err != nil {
		t.Fatal(err)
	}
	// The logout is written when the session has ended: ask until it shows.
	deadline := time.Now().Add(5 * time.Second)
	for {
		el := query(alice, "bob@la.example")
		if q := el.Child(nsLast, "query"); q != nil && q.Text() == "gone fishing" {
			if n, err := strconv.Atoi(q.Attr("seconds")); err != nil || n < 0 || n > 5 {
				t.Fatalf("seconds: %s", el)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logout never recorded: %s", el)
		}
	}
	// Bob's stored logout is his own to read too.
	bob = imLogin(t, addr, "bob@la.example", "pw")
	if q := query(bob, "bob@la.example").Child(nsLast, "query"); q == nil || q.Text() != "gone fishing" {
		t.Fatalf("own last activity: %v", q)
	}
	if q := query(carol, "la.example").Child(nsLast, "query"); q == nil {
		t.Fatal("server uptime missing")
	} else if _, err := strconv.Atoi(q.Attr("seconds")); err != nil {
		t.Fatalf("uptime: %s", q)
	}
	if got := carol.iqSummary("l", `<iq type='get' id='l' to='nobody@la.example'><query xmlns='jabber:iq:last'/></iq>`); got != "error iq/service-unavailable" {
		t.Fatalf("missing account: %s", got)
	}
	// Carol never logged out: nothing to tell, MongooseIM's <service-unavailable/>.
	if got := carol.iqSummary("l", `<iq type='get' id='l'><query xmlns='jabber:iq:last'/></iq>`); got != "error iq/service-unavailable" {
		t.Fatalf("never logged out: %s", got)
	}
}

// TestSICEndToEnd: the client learns the address and port it connects from.
func TestSICEndToEnd(t *testing.T) {
	s, api := startTLS(t)
	provision(t, api, "sic.example", "alice", "bob")
	alice := imLogin(t, s.C2SAddrs()[0], "alice@sic.example", "pw")
	el := alice.iq("a", `<iq type='get' id='a'><address xmlns='urn:xmpp:sic:1'/></iq>`)
	a := el.Child("urn:xmpp:sic:1", "address")
	if a == nil {
		t.Fatalf("sic: %s", el)
	}
	local := alice.Conn().LocalAddr().String()
	if got := a.Child("urn:xmpp:sic:1", "ip").Text() + ":" + a.Child("urn:xmpp:sic:1", "port").Text(); got != local {
		t.Fatalf("sic address %s, client is %s", got, local)
	}
	if got := alice.iqSummary("b", `<iq type='get' id='b' to='bob@sic.example'><address xmlns='urn:xmpp:sic:1'/></iq>`); got != "error iq/not-allowed" {
		t.Fatalf("someone else's address: %s", got)
	}
}
