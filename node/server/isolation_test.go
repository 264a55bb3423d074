package server_test

import (
	"maps"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/isolation"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// isolationServer serves host type "iso", whose [[host_config]] adds
// mod_domain_isolation to the default modules, beside "basic", which has none.
func isolationServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	cfg := server.TestConfig(t.TempDir())
	cfg.General.HostTypes = append(cfg.General.HostTypes, "iso")
	mods := maps.Clone(cfg.Modules)
	mods[isolation.Name] = config.Module{Name: isolation.Name}
	cfg.HostConfigs = append(cfg.HostConfigs, config.HostConfig{HostType: "iso", Modules: mods})
	s, api := serve(t, cfg)
	for domain, ht := range map[string]string{"a.example": "iso", "b.example": "iso", "open.example": "basic"} {
		if code := rest(t, "PUT", api+"/domains/"+domain, `{"host_type":"`+ht+`"}`); code != 204 {
			t.Fatalf("add %s: %d", domain, code)
		}
		for _, u := range []string{"alice", "bob"} {
			if code := rest(t, "POST", api+"/users/"+domain, `{"username":"`+u+`","password":"pw"}`); code != 201 {
				t.Fatalf("add %s@%s: %d", u, domain, code)
			}
		}
	}
	return s, api
}

// rawLogin logs in over a raw socket and sends initial presence, waiting for its echo.
func rawLogin(t *testing.T, addr, user, domain string) *meshtest.Client {
	t.Helper()
	c, err := meshtest.Login(addr, user, domain, "pw", "r")
	if err != nil {
		t.Fatalf("login %s@%s: %v", user, domain, err)
	}
	t.Cleanup(c.Close)
	if err := c.Send(`<presence/>`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(meshtest.Timeout, meshtest.Named("presence")); err != nil {
		t.Fatal(err)
	}
	return c
}

func isoSend(t *testing.T, c *meshtest.Client, raw string) {
	t.Helper()
	if err := c.Send(raw); err != nil {
		t.Fatal(err)
	}
}

// isolationError is the error reply MongooseIM's mod_domain_isolation sends.
const isolationError = `<error type="cancel" code="503">` +
	`<service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>` +
	`<text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="en">Filtered by the domain isolation</text>` +
	`</error>`

// noMessage checks that no message arrives for a moment: after a stanza that would
// have arrived by now, had it been delivered (the sender's own exchange came back).
func noMessage(t *testing.T, c *meshtest.Client) {
	t.Helper()
	if el, err := c.Expect(200*time.Millisecond, meshtest.Named("message")); err == nil {
		t.Fatalf("%s received %s", c.JID, el.AppendXML(nil, ""))
	}
}

// TestDomainIsolationEndToEnd covers reference section 10.2 behaviours 25 and 26 and
// the host type scoping of mod_domain_isolation, over real sockets.
func TestDomainIsolationEndToEnd(t *testing.T) {
	t.Parallel()
	s, _ := isolationServer(t)
	addr := s.C2SAddrs()[0]
	aliceA := rawLogin(t, addr, "alice", "a.example")
	bobA := rawLogin(t, addr, "bob", "a.example")
	bobB := rawLogin(t, addr, "bob", "b.example")
	bobOpen := rawLogin(t, addr, "bob", "open.example")

	// 25: inside one domain.
	isoSend(t, aliceA, meshtest.Message("bob@a.example", "same domain"))
	if _, err := bobA.Expect(meshtest.Timeout, meshtest.Body("same domain")); err != nil {
		t.Fatal(err)
	}

	// 26: across domains: not delivered, the sender gets the error, from the
	// original 'to' to the original 'from'.
	isoSend(t, aliceA, `<message type='chat' to='bob@b.example/r' id='x1'><body>cross</body></message>`)
	el, err := aliceA.Expect(meshtest.Timeout, meshtest.Named("message"))
	if err != nil {
		t.Fatal(err)
	}
	if el.Attr("type") != "error" || el.Attr("id") != "x1" || el.Attr("from") != "bob@b.example/r" || el.Attr("to") != "alice@a.example/r" {
		t.Fatalf("error reply %s", el.AppendXML(nil, ""))
	}
	if e := el.Child(xmlstream.ClientNamespace, "error"); e == nil || string(e.AppendXML(nil, xmlstream.ClientNamespace)) != isolationError {
		t.Fatalf("error reply %s", el.AppendXML(nil, ""))
	}
	noMessage(t, bobB)

	// An error stanza across domains is dropped without an answer. The roster get
	// that follows is answered only after it was routed, so silence up to its
	// result means no error came back.
	isoSend(t, aliceA, `<message type='error' to='bob@b.example/r'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`)
	isoSend(t, aliceA, `<iq type='get' id='p1'><query xmlns='jabber:iq:roster'/></iq>`)
	for {
		el, err := aliceA.Expect(meshtest.Timeout, func(*xmlstream.Element) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		if el.Local == "iq" && el.Attr("id") == "p1" {
			break
		}
		if el.Local == "message" {
			t.Fatalf("an error stanza was answered: %s", el.AppendXML(nil, ""))
		}
	}
	noMessage(t, bobB)

	// open.example's host type does not isolate: chat to it passes; chat from it to
	// an isolated domain does not.
	isoSend(t, aliceA, meshtest.Message("bob@open.example", "to open"))
	if _, err := bobOpen.Expect(meshtest.Timeout, meshtest.Body("to open")); err != nil {
		t.Fatal(err)
	}
	isoSend(t, bobOpen, meshtest.Message("alice@a.example", "from open"))
	if el, err := bobOpen.Expect(meshtest.Timeout, meshtest.Named("message")); err != nil || el.Attr("type") != "error" {
		t.Fatalf("bob@open.example: %v %v", el, err)
	}
	noMessage(t, aliceA)
}

// TestDomainIsolationSubdomain: a service subdomain (a MUC Light room address)
// counts as its parent domain (reference 10.2 behaviour 27, sender side).
func TestDomainIsolationSubdomain(t *testing.T) {
	t.Parallel()
	s, _ := isolationServer(t)
	alice := rawLogin(t, s.C2SAddrs()[0], "alice", "a.example")
	for _, from := range []string{"room@muclight.b.example/bob", "room@muclight.a.example/bob"} {
		el := xmlstream.NewElement(xmlstream.ClientNamespace, "message",
			xmlstream.Attr{Local: "from", Value: from}, xmlstream.Attr{Local: "to", Value: "alice@a.example/r"},
			xmlstream.Attr{Local: "type", Value: "groupchat"})
		body := xmlstream.NewElement(xmlstream.ClientNamespace, "body")
		body.AddText(from)
		el.AddChild(body)
		if err := s.Router.Deliver(el); err != nil {
			t.Fatal(err)
		}
	}
	got, err := alice.Expect(meshtest.Timeout, meshtest.Named("message"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Attr("from") != "room@muclight.a.example/bob" {
		t.Fatalf("delivered %s", got.AppendXML(nil, ""))
	}
	noMessage(t, alice)
}
