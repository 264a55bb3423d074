package server_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
)

const (
	nsCarbons = "urn:xmpp:carbons:2"
	nsForward = "urn:xmpp:forward:0"
)

// carbon reads the next stanza and checks it is a carbon (<sent/> or <received/>)
// from the user's bare JID; it returns the summary of the forwarded message.
func (c *imClient) carbon(dir, bare string) string {
	c.t.Helper()
	select {
	case el := <-c.in:
		d := el.Child(nsCarbons, dir)
		// mellium blanks a 'from' equal to the account's bare JID (RFC 6120 section
		// 8.1.2.1: no 'from' means the account), so both are the user's.
		from := el.Attr("from")
		if el.Local != "message" || (from != bare && from != "") || el.Attr("to") != c.jid() || d == nil {
			c.t.Fatalf("%s: want a %s carbon, got %s", c.jid(), dir, el)
		}
		f := d.Child(nsForward, "forwarded")
		if f == nil || f.Child("jabber:client", "message") == nil {
			c.t.Fatalf("carbon without forwarded message: %s", el)
		}
		return moduletest.Summary(f.Child("jabber:client", "message"))
	case <-time.After(5 * time.Second):
		c.t.Fatalf("%s: no %s carbon", c.jid(), dir)
	}
	return ""
}

// TestCarbonsEndToEnd: a resource that enabled carbons sees what its user's other
// resource receives and sends; <private/> and <no-copy/> are respected; a resource
// without carbons sees nothing; bare-JID messages already reaching every resource are
// not copied.
func TestCarbonsEndToEnd(t *testing.T) {
	s, api := startTLS(t)
	addr := s.C2SAddrs()[0]
	provision(t, api, "cc.example", "alice", "bob")
	const bare = "bob@cc.example"
	phone := imLogin(t, addr, bare, "pw")
	phone.send(`<presence/>`)
	phone.expectFrom(phone.jid())
	desk := imLogin(t, addr, bare, "pw")
	desk.send(`<presence/>`)
	desk.expectFrom(desk.jid())
	phone.drain()
	desk.drain()

	// The server advertises the feature.
	desk.send(`<iq type='get' id='d' to='cc.example'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	select {
	case el := <-desk.in:
		var fs []string
		for _, f := range el.Child("http://jabber.org/protocol/disco#info", "query").ChildrenNamed("http://jabber.org/protocol/disco#info", "feature") {
			fs = append(fs, f.Attr("var"))
		}
		if !slices.Contains(fs, nsCarbons) {
			t.Fatalf("disco features %v", fs)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no disco#info")
	}
	desk.send(`<iq type='set' id='on'><enable xmlns='urn:xmpp:carbons:2'/></iq>`)
	desk.expect("iq/result")

	alice := imLogin(t, addr, "alice@cc.example", "pw")
	a, p := alice.jid(), phone.jid()

	// Received: alice writes to the phone; the desk gets a copy.
	alice.send(`<message to='` + p + `' type='chat'><body>hi phone</body></message>`)
	phone.expect("message/chat " + a + ">" + p + " hi phone")
	if got := desk.carbon("received", bare); got != "message/chat "+a+">"+p+" hi phone" {
		t.Fatalf("received carbon of %s", got)
	}
	// Sent: the phone answers; the desk gets a copy.
	phone.send(`<message to='` + a + `' type='chat'><body>hi alice</body></message>`)
	alice.expect("message/chat " + p + ">" + a + " hi alice")
	if got := desk.carbon("sent", bare); got != "message/chat "+p+">"+a+" hi alice" {
		t.Fatalf("sent carbon of %s", got)
	}
	// Private and no-copy messages are not copied either way.
	phone.send(`<message to='` + a + `' type='chat'><body>secret</body><private xmlns='urn:xmpp:carbons:2'/></message>`)
	alice.expect("message/chat " + p + ">" + a + " secret")
	alice.send(`<message to='` + p + `' type='chat'><body>quiet</body><no-copy xmlns='urn:xmpp:hints'/></message>`)
	phone.expect("message/chat " + a + ">" + p + " quiet")
	// A bare-JID message reaches both resources (equal priority): no copies.
	alice.send(`<message to='` + bare + `' type='chat'><body>both</body></message>`)
	phone.expect("message/chat " + a + ">" + bare + " both")
	desk.expect("message/chat " + a + ">" + bare + " both")
	// The phone never enabled carbons: the desk's messages are not copied to it.
	desk.send(`<message to='` + a + `' type='chat'><body>from desk</body></message>`)
	alice.expect("message/chat " + desk.jid() + ">" + a + " from desk")
	desk.quiet()
	phone.quiet()

	// Disabled: no more copies.
	desk.send(`<iq type='set' id='off'><disable xmlns='urn:xmpp:carbons:2'/></iq>`)
	desk.expect("iq/result")
	alice.send(`<message to='` + p + `' type='chat'><body>after</body></message>`)
	phone.expect("message/chat " + a + ">" + p + " after")
	desk.quiet()
}
