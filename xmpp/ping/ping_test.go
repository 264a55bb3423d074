package ping

import (
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/router/routertest"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
)

func setup(t *testing.T, hostType string) (*router.Router, *routertest.Session) {
	t.Helper()
	r, err := router.New(router.Config{Directory: routertest.Directory{"example.com": "t1", "other.org": "t2"}})
	if err != nil {
		t.Fatal(err)
	}
	Register(r, hostType)
	s := routertest.NewSession(t, "alice@example.com/a", "t1")
	if err := r.Bind(s); err != nil {
		t.Fatal(err)
	}
	return r, s
}

func send(t *testing.T, r *router.Router, s *routertest.Session, xml string) {
	t.Helper()
	el := routertest.Parse(t, xml)
	el.SetAttr("from", s.JID().String())
	r.Route(s, el)
}

func TestPing(t *testing.T) {
	for _, c := range []struct{ to, wantFrom string }{
		{`to="example.com"`, "example.com"},
		{`to="bob@example.com"`, "bob@example.com"},
		{``, ""},
	} {
		r, alice := setup(t, "")
		send(t, r, alice, `<iq `+c.to+` type="get" id="p1"><ping xmlns="urn:xmpp:ping"/></iq>`)
		got := alice.One(t)
		want := `<iq xmlns="jabber:client" type="result" id="p1" to="alice@example.com/a"/>`
		if c.wantFrom != "" {
			want = `<iq xmlns="jabber:client" type="result" id="p1" from="` + c.wantFrom + `" to="alice@example.com/a"/>`
		}
		if got.String() != want {
			t.Errorf("ping %s:\ngot  %s\nwant %s", c.to, got, want)
		}
	}
}

func TestPingErrors(t *testing.T) {
	for _, c := range []struct {
		iq   string
		want stanza.Condition
	}{
		{`<iq to="example.com" type="set" id="p"><ping xmlns="urn:xmpp:ping"/></iq>`, stanza.NotAllowed},
		{`<iq to="example.com" type="get" id="p"><pong xmlns="urn:xmpp:ping"/></iq>`, stanza.BadRequest},
		// Registered for t1 only: other.org does not answer.
		{`<iq to="other.org" type="get" id="p"><ping xmlns="urn:xmpp:ping"/></iq>`, stanza.ServiceUnavailable},
	} {
		r, alice := setup(t, "t1")
		send(t, r, alice, c.iq)
		got := alice.One(t)
		if e := got.Child(stanza.NSClient, "error"); got.Attr("type") != "error" || e.Child(stanza.NSStanzas, c.want.Name) == nil {
			t.Errorf("%s: got %s, want %s", c.iq, got, c.want.Name)
		}
	}
}
