package isolation_test

import (
	"slices"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/isolation"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// harness: a.com and b.com are tenants of host type "iso" (module on), c.com of
// "open" (module off).
func harness(t *testing.T) *moduletest.Harness {
	h := moduletest.New(t, map[string]string{"a.com": "iso", "b.com": "iso", "c.com": "open"})
	h.Start("iso", isolation.Module, nil)
	return h
}

func TestParent(t *testing.T) {
	dir := moduletest.Directory{"a.com": "t", "b.a.com": "t", "localhost": "t"}
	for _, c := range []struct{ in, want string }{
		{"a.com", "a.com"},
		{"muclight.a.com", "a.com"},
		{"x.muclight.a.com", "a.com"},
		{"b.a.com", "b.a.com"}, // a tenant of its own, though under a.com
		{"muc.b.a.com", "b.a.com"},
		{"other.org", "other.org"},
		{"localhost", "localhost"},
		{"muc.localhost", "localhost"},
		{"com", "com"},
	} {
		if got := isolation.Parent(dir, c.in); got != c.want {
			t.Errorf("Parent(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if isolation.Crosses(dir, "muclight.a.com", "a.com") || !isolation.Crosses(dir, "a.com", "b.a.com") {
		t.Error("Crosses disagrees with Parent")
	}
}

// registered answers ParentDomain for one subdomain that the directory also routes.
type registered struct{ moduletest.Directory }

func (registered) ParentDomain(d string) (string, bool) {
	if d == "rooms.example" {
		return "a.com", true
	}
	return "", false
}

func TestParentRegisteredSubdomain(t *testing.T) {
	dir := registered{moduletest.Directory{"a.com": "t", "rooms.example": "t"}}
	if got := isolation.Parent(dir, "rooms.example"); got != "a.com" {
		t.Errorf("registered subdomain: Parent = %q", got)
	}
}

func TestSameDomainDelivered(t *testing.T) {
	h := harness(t)
	alice, bob := h.Login("alice@a.com/r"), h.Login("bob@a.com/r")
	alice.Send(`<message to='bob@a.com/r' type='chat'><body>hi</body></message>`)
	if got := bob.TakeSummaries(); !slices.Equal(got, []string{"message/chat alice@a.com/r>bob@a.com/r hi"}) {
		t.Errorf("bob got %q", got)
	}
	if got := alice.Take(); len(got) != 0 {
		t.Errorf("alice got %q", moduletest.Summaries(got))
	}
}

func TestCrossDomainFiltered(t *testing.T) {
	h := harness(t)
	alice, bob := h.Login("alice@a.com/r"), h.Login("bob@b.com/r")
	alice.Send(`<message to='bob@b.com/r' type='chat' id='m1'><body>hi</body></message>`)
	if got := bob.Take(); len(got) != 0 {
		t.Fatalf("bob got %q", moduletest.Summaries(got))
	}
	got := alice.Take()
	if len(got) != 1 {
		t.Fatalf("alice got %q", moduletest.Summaries(got))
	}
	want := `<message xmlns="jabber:client" type="error" id="m1" from="bob@b.com/r" to="alice@a.com/r">` +
		`<body>hi</body><error type="cancel" code="503">` +
		`<service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>` +
		`<text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="en">Filtered by the domain isolation</text>` +
		`</error></message>`
	if s := string(got[0].AppendXML(nil, "")); s != want {
		t.Errorf("error reply\n got %s\nwant %s", s, want)
	}

	// An IQ and a presence are filtered too; the IQ is answered.
	alice.Send(`<iq to='bob@b.com/r' type='get' id='q'><ping xmlns='urn:xmpp:ping'/></iq>`)
	alice.Send(`<presence to='bob@b.com/r'/>`)
	if got := bob.Take(); len(got) != 0 {
		t.Fatalf("bob got %q", moduletest.Summaries(got))
	}
	if got := alice.TakeSummaries(); !slices.Equal(got, []string{"error iq/service-unavailable", "error presence/service-unavailable"}) {
		t.Errorf("alice got %q", got)
	}
}

func TestErrorStanzaDroppedSilently(t *testing.T) {
	h := harness(t)
	alice, bob := h.Login("alice@a.com/r"), h.Login("bob@b.com/r")
	alice.Send(`<message to='bob@b.com/r' type='error'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`)
	if got := bob.Take(); len(got) != 0 {
		t.Errorf("bob got %q", moduletest.Summaries(got))
	}
	if got := alice.Take(); len(got) != 0 {
		t.Errorf("alice got %q", moduletest.Summaries(got))
	}
}

func TestHostTypeWithoutModule(t *testing.T) {
	h := harness(t)
	alice, carol := h.Login("alice@a.com/r"), h.Login("carol@c.com/r")
	// Isolation is the recipient's host type's: c.com does not isolate, a.com does.
	alice.Send(`<message to='carol@c.com/r' type='chat'><body>in</body></message>`)
	if got := carol.TakeSummaries(); !slices.Equal(got, []string{"message/chat alice@a.com/r>carol@c.com/r in"}) {
		t.Errorf("carol got %q", got)
	}
	carol.Send(`<message to='alice@a.com/r' type='chat'><body>back</body></message>`)
	if got := alice.Take(); len(got) != 0 {
		t.Errorf("alice got %q", moduletest.Summaries(got))
	}
	if got := carol.TakeSummaries(); !slices.Equal(got, []string{"error message/service-unavailable"}) {
		t.Errorf("carol got %q", got)
	}
}

func TestSubdomainCountsAsParent(t *testing.T) {
	h := harness(t)
	alice := h.Login("alice@a.com/r")
	deliver := func(from string) {
		t.Helper()
		el := xmlstream.NewElement(xmlstream.ClientNamespace, "message",
			xmlstream.Attr{Local: "from", Value: from}, xmlstream.Attr{Local: "to", Value: "alice@a.com/r"},
			xmlstream.Attr{Local: "type", Value: "groupchat"})
		if err := h.Router.Deliver(el); err != nil {
			t.Fatal(err)
		}
	}
	deliver("room@muclight.a.com/bob")
	deliver("room@muclight.b.com/bob")
	if got := alice.TakeSummaries(); !slices.Equal(got, []string{"message/groupchat room@muclight.a.com/bob>alice@a.com/r"}) {
		t.Errorf("alice got %q", got)
	}
}

var _ module.Directory = registered{}
