package server_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

const nsBlocking = "urn:xmpp:blocking"

// next returns the next stanza the client receives.
func (c *imClient) next() *xmlstream.Element {
	c.t.Helper()
	select {
	case el := <-c.in:
		return el
	case <-time.After(5 * time.Second):
		c.t.Fatalf("%s: nothing received", c.LocalAddr())
		return nil
	}
}

// blockItems lists the JIDs of a <blocklist/>, <block/> or <unblock/> child of an IQ.
func blockItems(t *testing.T, iq *xmlstream.Element, local string) []string {
	t.Helper()
	el := iq.Child(nsBlocking, local)
	if el == nil {
		t.Fatalf("no %s in %s", local, iq)
	}
	out := []string{}
	for _, it := range el.ChildrenNamed(nsBlocking, "item") {
		out = append(out, it.Attr("jid"))
	}
	return out
}

// TestBlockingEndToEnd: a user blocks a contact (XEP-0191): the resource that asked
// for the list gets the push and the other does not, the contact sees the user go
// offline and then gets nothing, its messages bounce with <service-unavailable/>, the
// user's own messages to it come back with <blocked/>; unblocking restores delivery.
func TestBlockingEndToEnd(t *testing.T) {
	s, api := startTLS(t)
	addr := s.C2SAddrs()[0]
	provision(t, api, "bl.example", "alice", "bob")
	if code, body := restBody(t, "PUT", api+"/contacts/alice@bl.example/bob@bl.example/manage", `{"action":"connect"}`); code != 204 {
		t.Fatalf("connect: %d %s", code, body)
	}
	a1 := imLogin(t, addr, "alice@bl.example", "pw")
	a2 := imLogin(t, addr, "alice@bl.example", "pw")
	bob := imLogin(t, addr, "bob@bl.example", "pw")
	bob.online(`<presence/>`)
	bob.expectFrom(bob.jid())
	if got := blockItems(t, a1.iq("l1", `<iq type='get' id='l1'><blocklist xmlns='urn:xmpp:blocking'/></iq>`), "blocklist"); len(got) != 0 {
		t.Fatalf("initial list %v", got)
	}
	a1.send(`<presence/>`)
	a1.expectFrom(a1.jid())
	bob.expectFrom(a1.jid())
	bob.drain()

	a1.send(`<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='bob@bl.example'/></block></iq>`)
	push := a1.next()
	// mellium blanks a 'from' equal to the account's bare JID, which pushes carry.
	if push.Attr("type") != "set" || push.Attr("from") != "" || !slices.Equal(blockItems(t, push, "block"), []string{"bob@bl.example"}) {
		t.Fatalf("push: %s", push)
	}
	a1.send(`<iq type='result' id='` + push.Attr("id") + `'/>`)
	if res := a1.next(); res.Attr("type") != "result" || res.Attr("id") != "b1" {
		t.Fatalf("block result: %s", res)
	}
	bob.expect("presence/unavailable " + a1.jid() + ">bob@bl.example")
	a2.quiet() // never asked for the list: no push

	// Bob's message and IQ bounce; Alice sees neither.
	bob.send(`<message to='alice@bl.example' id='m1'><body>hi</body></message>`)
	bob.expect("error message/service-unavailable")
	if got := bob.iqSummary("v1", `<iq type='get' id='v1' to='alice@bl.example'><vCard xmlns='vcard-temp'/></iq>`); got != "error iq/service-unavailable" {
		t.Fatalf("IQ from blocked: %s", got)
	}
	// Alice's message to Bob comes back with <blocked/>.
	a1.send(`<message to='bob@bl.example' id='m2'><body>psst</body></message>`)
	e := a1.next()
	if e.Attr("type") != "error" || e.Child("jabber:client", "error").Child("urn:ietf:params:xml:ns:xmpp-stanzas", "not-acceptable") == nil ||
		e.Child("jabber:client", "error").Child("urn:xmpp:blocking:errors", "blocked") == nil {
		t.Fatalf("send to blocked: %s", e)
	}
	// Presence updates do not reach Bob either.
	a1.send(`<presence><show>away</show></presence>`)
	a1.expectFrom(a1.jid())
	bob.quiet()
	a1.quiet()
	a2.quiet()

	// The list, seen by a resource asking now.
	if got := blockItems(t, a2.iq("l2", `<iq type='get' id='l2'><blocklist xmlns='urn:xmpp:blocking'/></iq>`), "blocklist"); !slices.Equal(got, []string{"bob@bl.example"}) {
		t.Fatalf("list %v", got)
	}
	a1.send(`<iq type='set' id='u1'><unblock xmlns='urn:xmpp:blocking'><item jid='bob@bl.example'/></unblock></iq>`)
	for _, c := range []*imClient{a1, a2} {
		if p := c.next(); !slices.Equal(blockItems(t, p, "unblock"), []string{"bob@bl.example"}) {
			t.Fatalf("unblock push: %s", p)
		}
	}
	if res := a1.next(); res.Attr("id") != "u1" || res.Attr("type") != "result" {
		t.Fatalf("unblock result: %s", res)
	}
	bob.send(`<message to='` + a1.jid() + `' id='m3'><body>back</body></message>`)
	a1.expect("message/normal " + bob.jid() + ">" + a1.jid() + " back")

	// Block by domain, then unblock everything at once.
	if got := a1.iqSummary("b2", `<iq type='set' id='b2'><block xmlns='urn:xmpp:blocking'><item jid='bl.example'/><item jid='x@y.example/r'/></block></iq>`); got != "iq/result" {
		t.Fatalf("block domain: %s", got)
	}
	bob.send(`<message to='` + a1.jid() + `' id='m4'><body>again</body></message>`)
	bob.expect("error message/service-unavailable")
	if got := a1.iqSummary("u2", `<iq type='set' id='u2'><unblock xmlns='urn:xmpp:blocking'/></iq>`); got != "iq/result" {
		t.Fatalf("unblock all: %s", got)
	}
	if got := blockItems(t, a1.iq("l3", `<iq type='get' id='l3'><blocklist xmlns='urn:xmpp:blocking'/></iq>`), "blocklist"); len(got) != 0 {
		t.Fatalf("after unblock all: %v", got)
	}

	for _, tc := range []struct{ raw, want string }{
		{`<iq type='set' id='x'><block xmlns='urn:xmpp:blocking'/></iq>`, "error iq/bad-request"},
		{`<iq type='set' id='x'><block xmlns='urn:xmpp:blocking'><item jid='@@'/></block></iq>`, "error iq/jid-malformed"},
		{`<iq type='get' id='x' to='bob@bl.example'><blocklist xmlns='urn:xmpp:blocking'/></iq>`, "error iq/forbidden"},
	} {
		if got := a2.iqSummary("x", tc.raw); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.raw, got, tc.want)
		}
	}
}
