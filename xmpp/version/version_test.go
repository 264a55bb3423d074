package version

import (
	"runtime"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/router/routertest"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func query(t *testing.T, cfg Config, xml string) *xmlstream.Element {
	t.Helper()
	r, err := router.New(router.Config{Directory: routertest.Directory{"example.com": "t1"}})
	if err != nil {
		t.Fatal(err)
	}
	Register(r, "", cfg)
	s := routertest.NewSession(t, "alice@example.com/a", "t1")
	if err := r.Bind(s); err != nil {
		t.Fatal(err)
	}
	el := routertest.Parse(t, xml)
	el.SetAttr("from", s.JID().String())
	r.Route(s, el)
	return s.One(t)
}

const get = `<iq to="example.com" type="get" id="v1"><query xmlns="jabber:iq:version"/></iq>`

func TestVersion(t *testing.T) {
	got := query(t, Config{Version: "1.2.3"}, get)
	want := `<iq xmlns="jabber:client" type="result" id="v1" from="example.com" to="alice@example.com/a">` +
		`<query xmlns="jabber:iq:version"><name>mongoose-go</name><version>1.2.3</version></query></iq>`
	if got.String() != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestVersionOSAndDefaults(t *testing.T) {
	got := query(t, Config{Name: "custom", OS: true}, get)
	q := got.Child(stanza.NSVersion, "query")
	if q == nil || q.Child(stanza.NSVersion, "name").Text() != "custom" ||
		q.Child(stanza.NSVersion, "version").Text() != "unknown" ||
		q.Child(stanza.NSVersion, "os").Text() != runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("got %s", got)
	}
}

func TestVersionErrors(t *testing.T) {
	for _, c := range []struct {
		iq   string
		want stanza.Condition
	}{
		{`<iq to="example.com" type="set" id="v"><query xmlns="jabber:iq:version"/></iq>`, stanza.NotAllowed},
		{`<iq to="example.com" type="get" id="v"><other xmlns="jabber:iq:version"/></iq>`, stanza.BadRequest},
		// The server answers for itself, not for accounts.
		{`<iq to="bob@example.com" type="get" id="v"><query xmlns="jabber:iq:version"/></iq>`, stanza.ServiceUnavailable},
	} {
		got := query(t, Config{Version: "1"}, c.iq)
		if e := got.Child(stanza.NSClient, "error"); got.Attr("type") != "error" || e.Child(stanza.NSStanzas, c.want.Name) == nil {
			t.Errorf("%s: got %s, want %s", c.iq, got, c.want.Name)
		}
	}
}
