package disco

import (
	"context"
	"slices"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/router/routertest"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// server registers disco plus stand-ins for ping (server and accounts), version
// and time (server only), the way node wires the built-in handlers.
func server(t *testing.T, cfg Config) (*router.Router, *routertest.Session) {
	t.Helper()
	r, err := router.New(router.Config{Directory: routertest.Directory{"example.com": "t1", "other.org": "t2"}})
	if err != nil {
		t.Fatal(err)
	}
	Register(r, "", cfg)
	noop := func(_ context.Context, q *router.IQ) *xmlstream.Element { return q.Result(nil) }
	r.HandleIQ("", stanza.NSPing, router.ToBoth, noop)
	r.HandleIQ("", stanza.NSVersion, router.ToServer, noop)
	r.HandleIQ("", stanza.NSTime, router.ToServer, noop)
	r.HandleIQ("t2", "urn:xmpp:only-t2", router.ToServer, noop)
	s := routertest.NewSession(t, "alice@example.com/a", "t1")
	if err := r.Bind(s); err != nil {
		t.Fatal(err)
	}
	return r, s
}

func ask(t *testing.T, r *router.Router, s *routertest.Session, to, ns, attrs string) *xmlstream.Element {
	t.Helper()
	toAttr := ""
	if to != "" {
		toAttr = ` to="` + to + `"`
	}
	el := routertest.Parse(t, `<iq`+toAttr+` type="get" id="d1"><query xmlns="`+ns+`"`+attrs+`/></iq>`)
	el.SetAttr("from", s.JID().String())
	r.Route(s, el)
	return s.Last(t)
}

type info struct {
	identities []string // "category/type/name"
	features   []string
}

func parseInfo(t *testing.T, iq *xmlstream.Element) info {
	t.Helper()
	q := iq.Child(stanza.NSDiscoInf, "query")
	if iq.Attr("type") != "result" || q == nil {
		t.Fatalf("not a disco#info result: %s", iq)
	}
	var out info
	for _, id := range q.ChildrenNamed(stanza.NSDiscoInf, "identity") {
		out.identities = append(out.identities, id.Attr("category")+"/"+id.Attr("type")+"/"+id.Attr("name"))
	}
	for _, f := range q.ChildrenNamed(stanza.NSDiscoInf, "feature") {
		out.features = append(out.features, f.Attr("var"))
	}
	return out
}

func TestServerInfo(t *testing.T) {
	reg := NewRegistry()
	reg.AddFeature("", router.ToServer, "msgoffline")
	reg.AddFeature("t2", router.ToServer, "urn:xmpp:t2-feature")
	reg.AddFeature("", router.ToServer, stanza.NSPing) // also an IQ: listed once
	r, alice := server(t, Config{Registry: reg})

	got := parseInfo(t, ask(t, r, alice, "example.com", stanza.NSDiscoInf, ""))
	if !slices.Equal(got.identities, []string{"server/im/mongoose-go"}) {
		t.Errorf("identities %v", got.identities)
	}
	want := []string{stanza.NSDiscoInf, stanza.NSDiscoIt, stanza.NSVersion, "msgoffline", stanza.NSPing, stanza.NSTime}
	if !slices.Equal(got.features, want) {
		t.Errorf("features\n got %v\nwant %v", got.features, want)
	}

	got = parseInfo(t, ask(t, r, alice, "other.org", stanza.NSDiscoInf, ""))
	if !slices.Contains(got.features, "urn:xmpp:t2-feature") || !slices.Contains(got.features, "urn:xmpp:only-t2") {
		t.Errorf("t2 server lacks its host type's features: %v", got.features)
	}

	reg.RemoveFeature("", router.ToServer, "msgoffline")
	got = parseInfo(t, ask(t, r, alice, "example.com", stanza.NSDiscoInf, ""))
	if slices.Contains(got.features, "msgoffline") {
		t.Error("removed feature still advertised")
	}
}

func TestAccountInfo(t *testing.T) {
	r, alice := server(t, Config{Accounts: routertest.Accounts{"bob@example.com": true}, Name: "ignored for accounts"})
	wantFeatures := []string{stanza.NSDiscoInf, stanza.NSDiscoIt, stanza.NSPing}
	for _, to := range []string{"", "alice@example.com", "bob@example.com"} {
		got := parseInfo(t, ask(t, r, alice, to, stanza.NSDiscoInf, ""))
		if !slices.Equal(got.identities, []string{"account/registered/"}) {
			t.Errorf("to %q: identities %v", to, got.identities)
		}
		if !slices.Equal(got.features, wantFeatures) {
			t.Errorf("to %q: features %v, want %v", to, got.features, wantFeatures)
		}
	}
	// An account Accounts does not know gets no identity (the router, without
	// Accounts of its own, lets the query through).
	got := parseInfo(t, ask(t, r, alice, "ghost@example.com", stanza.NSDiscoInf, ""))
	if len(got.identities) != 0 {
		t.Errorf("nonexistent account has identities %v", got.identities)
	}
}

func TestItems(t *testing.T) {
	reg := NewRegistry()
	reg.AddItems("", func(_, domain string) []Item { return []Item{{JID: "muclight." + domain, Name: "MUC Light"}} })
	reg.AddItems("t2", func(_, domain string) []Item { return []Item{{JID: domain, Node: "announce"}} })
	r, alice := server(t, Config{Registry: reg})

	got := ask(t, r, alice, "example.com", stanza.NSDiscoIt, "")
	want := `<iq xmlns="jabber:client" type="result" id="d1" from="example.com" to="alice@example.com/a">` +
		`<query xmlns="http://jabber.org/protocol/disco#items"><item jid="muclight.example.com" name="MUC Light"/></query></iq>`
	if got.String() != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got = ask(t, r, alice, "other.org", stanza.NSDiscoIt, "")
	if n := len(got.Child(stanza.NSDiscoIt, "query").Elements()); n != 2 {
		t.Errorf("t2 items: %s", got)
	}
	got = ask(t, r, alice, "", stanza.NSDiscoIt, "")
	if q := got.Child(stanza.NSDiscoIt, "query"); got.Attr("type") != "result" || len(q.Children) != 0 {
		t.Errorf("account items: %s", got)
	}
}

func TestDiscoErrors(t *testing.T) {
	r, alice := server(t, Config{})
	for _, c := range []struct {
		to, ns, attrs string
		want          stanza.Condition
	}{
		{"example.com", stanza.NSDiscoInf, ` node="urn:unknown"`, stanza.ItemNotFound},
		{"example.com", stanza.NSDiscoIt, ` node="urn:unknown"`, stanza.ItemNotFound},
		{"", stanza.NSDiscoInf, ` node="x"`, stanza.ItemNotFound},
	} {
		got := ask(t, r, alice, c.to, c.ns, c.attrs)
		if e := got.Child(stanza.NSClient, "error"); got.Attr("type") != "error" || e.Child(stanza.NSStanzas, c.want.Name) == nil {
			t.Errorf("%s%s: got %s, want %s", c.ns, c.attrs, got, c.want.Name)
		}
	}
	for _, xml := range []string{
		`<iq to="example.com" type="set" id="s"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`,
		`<iq to="example.com" type="get" id="s"><other xmlns="http://jabber.org/protocol/disco#items"/></iq>`,
	} {
		el := routertest.Parse(t, xml)
		el.SetAttr("from", alice.JID().String())
		r.Route(alice, el)
		if got := alice.Last(t); got.Attr("type") != "error" || got.Attr("id") != "s" {
			t.Errorf("%s: got %s", xml, got)
		}
	}
}
