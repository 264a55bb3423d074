package c2s

import (
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
)

// TestAccessRuleAtBind: the listener's access rule is asked at resource binding
// with the host type and the full JID; a refusal answers the bind with
// <not-allowed/>, opens no session, and leaves the stream usable for another bind.
func TestAccessRuleAtBind(t *testing.T) {
	type ask struct {
		hostType string
		who      jid.JID
	}
	asked := make(chan ask, 4)
	s := startServer(t, noTLS, func(c *Config) {
		c.Access = func(hostType string, who jid.JID) bool {
			asked <- ask{hostType, who}
			return who.Resource() != "denied"
		}
	})
	c := dial(t, s.addr)
	c.open(testDomain)
	if el := c.authPlain("", "alice", testPassword); el.Local != "success" {
		t.Fatalf("auth: %s", el)
	}
	c.open(testDomain)
	c.send(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>denied</resource></bind></iq>`)
	if el := c.expect(nsClient, "iq"); stanzaError(el) != "not-allowed/cancel" {
		t.Fatalf("denied bind answered %s", el)
	}
	if got := <-asked; got.hostType != testHostType || got.who.String() != "alice@example.com/denied" {
		t.Fatalf("asked %+v", got)
	}
	if s.r.count() != 0 {
		t.Fatal("a refused bind registered a session")
	}
	if j := c.bind("ok"); j != "alice@example.com/ok" {
		t.Fatalf("bound %s", j)
	}
}
