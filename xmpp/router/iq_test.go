package router

import (
	"context"
	"slices"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/router/routertest"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

const pingIQ = `<iq type="get" id="p1"><ping xmlns="urn:xmpp:ping"/></iq>`

// recorder is an IQ handler that answers with a result and remembers the request.
type recorder struct{ got []*IQ }

func (rec *recorder) handle(_ context.Context, q *IQ) *xmlstream.Element {
	rec.got = append(rec.got, q)
	return q.Result(nil)
}

func iqTo(to, body string) string {
	return `<iq to="` + to + `" type="get" id="q1">` + body + `</iq>`
}

func TestIQToServer(t *testing.T) {
	r := newRouter(t, nil)
	var rec recorder
	r.HandleIQ("", stanza.NSPing, ToServer, rec.handle)
	alice := newSession(t, "alice@example.com/a")
	bind(t, r, alice)

	el := send(t, r, alice, iqTo("example.com", `<ping xmlns="urn:xmpp:ping"/>`))
	got := alice.One(t)
	want := `<iq xmlns="jabber:client" type="result" id="q1" from="example.com" to="alice@example.com/a"/>`
	if got.String() != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	q := rec.got[0]
	if q.El != el || q.Payload.Local != "ping" || q.To.String() != "example.com" || q.From != alice.JID() ||
		q.Target != ToServer || q.HostType != "t1" || q.Session != alice || q.OwnAccount() {
		t.Fatalf("handler got %+v", q)
	}
}

func TestIQToAccount(t *testing.T) {
	r := newRouter(t, func(c *Config) { c.Accounts = routertest.Accounts{"bob@example.com": true} })
	var rec recorder
	r.HandleIQ("", stanza.NSPing, ToAccount, rec.handle)
	alice := newSession(t, "alice@example.com/a")
	bind(t, r, alice)

	// No 'to': the sender's own account (RFC 6120 10.3.3), whether or not
	// Accounts knows it.
	send(t, r, alice, pingIQ)
	if got := alice.One(t); got.Attr("type") != "result" || got.Attr("from") != "" {
		t.Fatalf("own account ping: %s", got)
	}
	if q := rec.got[0]; q.To.String() != "alice@example.com" || q.Target != ToAccount || !q.OwnAccount() {
		t.Fatalf("handler got To=%s Target=%d own=%v", q.To, q.Target, q.OwnAccount())
	}

	// Another existing account, with no session: answered by the server for it.
	send(t, r, alice, iqTo("bob@example.com", `<ping xmlns="urn:xmpp:ping"/>`))
	if got := alice.Received()[1]; got.Attr("type") != "result" || got.Attr("from") != "bob@example.com" {
		t.Fatalf("bare JID ping: %s", got)
	}
	if rec.got[1].OwnAccount() {
		t.Fatal("bob's account is not alice's own")
	}

	// An account that does not exist (RFC 6121 8.5.1).
	send(t, r, alice, iqTo("ghost@example.com", `<ping xmlns="urn:xmpp:ping"/>`))
	wantError(t, alice.Received()[2], stanza.ServiceUnavailable, "ghost@example.com", "alice@example.com/a")

	// Registered for accounts only: the server JID does not answer.
	send(t, r, alice, iqTo("example.com", `<ping xmlns="urn:xmpp:ping"/>`))
	wantError(t, alice.Received()[3], stanza.ServiceUnavailable, "example.com", "alice@example.com/a")
	if len(rec.got) != 2 {
		t.Fatalf("handler called %d times, want 2", len(rec.got))
	}
}

func TestIQUnknownNamespace(t *testing.T) {
	r := newRouter(t, nil)
	alice := newSession(t, "alice@example.com/a")
	bind(t, r, alice)
	send(t, r, alice, iqTo("example.com", `<query xmlns="urn:example:unknown"/>`))
	got := alice.One(t)
	wantError(t, got, stanza.ServiceUnavailable, "example.com", "alice@example.com/a")
	if got.Child("urn:example:unknown", "query") == nil || got.Attr("id") != "q1" {
		t.Fatalf("error reply lost the payload or id: %s", got)
	}
}

func TestIQValidation(t *testing.T) {
	r := newRouter(t, nil)
	var rec recorder
	r.HandleIQ("", stanza.NSPing, ToBoth, rec.handle)
	alice, bob1, _ := twoUsers(t, r)
	for _, bad := range []string{
		`<iq to="example.com" type="get" id="1"/>`,
		`<iq to="example.com" type="get" id="1">  </iq>`,
		`<iq to="example.com" type="set" id="1"><ping xmlns="urn:xmpp:ping"/><ping xmlns="urn:xmpp:ping"/></iq>`,
		`<iq to="example.com" type="get"><ping xmlns="urn:xmpp:ping"/></iq>`,
		`<iq to="example.com" id="1"><ping xmlns="urn:xmpp:ping"/></iq>`,
		`<iq to="example.com" type="fetch" id="1"><ping xmlns="urn:xmpp:ping"/></iq>`,
		`<iq to="bob@example.com/1" type="result" id="1"><a xmlns="x"/><b xmlns="x"/></iq>`,
		`<iq to="bob@example.com/1" type="get" id="1"/>`,
	} {
		before := len(alice.Received())
		send(t, r, alice, bad)
		got := alice.Received()
		if len(got) != before+1 {
			t.Fatalf("%s: %d replies", bad, len(got)-before)
		}
		wantError(t, got[before], stanza.BadRequest, parse(t, bad).Attr("to"), "alice@example.com/a")
	}
	if len(rec.got) != 0 {
		t.Fatal("handler ran for an invalid IQ")
	}
	bob1.None(t)
	// Whitespace around a single payload is fine.
	send(t, r, alice, "<iq to='example.com' type='get' id='w'>\n <ping xmlns='urn:xmpp:ping'/>\n</iq>")
	if got := alice.Received(); got[len(got)-1].Attr("type") != "result" {
		t.Fatalf("whitespace-padded IQ: %s", got[len(got)-1])
	}
}

func TestIQResponsesToServerDropped(t *testing.T) {
	r := newRouter(t, nil)
	var rec recorder
	r.HandleIQ("", stanza.NSPing, ToBoth, rec.handle)
	alice := newSession(t, "alice@example.com/a")
	bind(t, r, alice)
	send(t, r, alice, `<iq to="example.com" type="result" id="1"/>`)
	send(t, r, alice, `<iq to="example.com" type="error" id="2"><ping xmlns="urn:xmpp:ping"/><error type="cancel"/></iq>`)
	send(t, r, alice, `<iq to="bob@example.com" type="result" id="3"><ping xmlns="urn:xmpp:ping"/></iq>`)
	send(t, r, alice, `<iq type="error" id="4"/>`)
	alice.None(t)
	if len(rec.got) != 0 {
		t.Fatal("a response reached a handler")
	}
}

func TestIQToFullJID(t *testing.T) {
	r := newRouter(t, nil)
	alice, bob1, bob2 := twoUsers(t, r)
	el := send(t, r, alice, iqTo("bob@example.com/2", `<query xmlns="jabber:iq:version"/>`))
	if bob2.One(t) != el {
		t.Fatal("IQ to full JID not delivered")
	}
	bob1.None(t)
	res := send(t, r, bob2, `<iq to="alice@example.com/a" type="result" id="q1"/>`)
	if alice.One(t) != res {
		t.Fatal("result to full JID not delivered")
	}

	// Unavailable resource: service-unavailable for requests, silence for responses.
	send(t, r, alice, iqTo("bob@example.com/gone", `<query xmlns="jabber:iq:version"/>`))
	wantError(t, alice.Received()[1], stanza.ServiceUnavailable, "bob@example.com/gone", "alice@example.com/a")
	send(t, r, alice, `<iq to="bob@example.com/gone" type="result" id="r"/>`)
	send(t, r, alice, `<iq to="bob@example.com/gone" type="error" id="e"><error type="cancel"/></iq>`)
	bob2.SetRefuse(true)
	send(t, r, alice, iqTo("bob@example.com/2", `<query xmlns="jabber:iq:version"/>`))
	wantError(t, alice.Received()[2], stanza.ServiceUnavailable, "bob@example.com/2", "alice@example.com/a")
	// domain/resource: no components yet.
	send(t, r, alice, iqTo("example.com/res", `<ping xmlns="urn:xmpp:ping"/>`))
	wantError(t, alice.Received()[3], stanza.ServiceUnavailable, "example.com/res", "alice@example.com/a")
	if n := len(alice.Received()); n != 4 {
		t.Fatalf("alice got %d stanzas, want 4", n)
	}
}

func TestIQHandlerPerHostType(t *testing.T) {
	r := newRouter(t, nil)
	answer := func(text string) IQHandler {
		return func(_ context.Context, q *IQ) *xmlstream.Element {
			p := xmlstream.NewElement("urn:test", "who")
			p.AddText(text)
			return q.Result(p)
		}
	}
	r.HandleIQ("", "urn:test", ToServer, answer("generic"))
	r.HandleIQ("t2", "urn:test", ToServer, answer("t2"))
	alice := newSession(t, "alice@example.com/a")
	bind(t, r, alice)
	send(t, r, alice, iqTo("example.com", `<who xmlns="urn:test"/>`))
	send(t, r, alice, iqTo("other.org", `<who xmlns="urn:test"/>`))
	got := alice.Received()
	if len(got) != 2 || got[0].Child("urn:test", "who").Text() != "generic" || got[1].Child("urn:test", "who").Text() != "t2" {
		t.Fatalf("answers %v", got)
	}
	if ns := r.IQNamespaces("t2", ToServer); !slices.Equal(ns, []string{"urn:test"}) {
		t.Fatalf("IQNamespaces = %v", ns)
	}
	r.HandleIQ("t2", "urn:test", ToServer, nil)
	send(t, r, alice, iqTo("other.org", `<who xmlns="urn:test"/>`))
	if got := alice.Received(); got[2].Child("urn:test", "who").Text() != "generic" {
		t.Fatalf("after removal: %s", got[2])
	}
}

func TestIQNamespaces(t *testing.T) {
	r := newRouter(t, nil)
	h := func(context.Context, *IQ) *xmlstream.Element { return nil }
	r.HandleIQ("", "urn:b", ToBoth, h)
	r.HandleIQ("", "urn:a", ToServer, h)
	r.HandleIQ("t1", "urn:c", ToAccount, h)
	r.HandleIQ("t2", "urn:d", ToServer, h)
	for _, c := range []struct {
		ht     string
		target Target
		want   []string
	}{
		{"t1", ToServer, []string{"urn:a", "urn:b"}},
		{"t1", ToAccount, []string{"urn:b", "urn:c"}},
		{"t2", ToServer, []string{"urn:a", "urn:b", "urn:d"}},
		{"t2", ToAccount, []string{"urn:b"}},
	} {
		if got := r.IQNamespaces(c.ht, c.target); !slices.Equal(got, c.want) {
			t.Errorf("IQNamespaces(%s, %d) = %v, want %v", c.ht, c.target, got, c.want)
		}
	}
}

func TestIQHandlerNilAndPanic(t *testing.T) {
	r := newRouter(t, nil)
	var asyncCalled bool
	r.HandleIQ("", "urn:async", ToServer, func(context.Context, *IQ) *xmlstream.Element {
		asyncCalled = true
		return nil
	})
	r.HandleIQ("", "urn:broken", ToServer, func(context.Context, *IQ) *xmlstream.Element { panic("boom") })
	alice := newSession(t, "alice@example.com/a")
	bind(t, r, alice)
	send(t, r, alice, iqTo("example.com", `<q xmlns="urn:async"/>`))
	if !asyncCalled {
		t.Fatal("handler not called")
	}
	alice.None(t)
	send(t, r, alice, iqTo("example.com", `<q xmlns="urn:broken"/>`))
	wantError(t, alice.One(t), stanza.InternalServerError, "example.com", "alice@example.com/a")
}

func TestIQHandlerContext(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "node")
	r := newRouter(t, func(c *Config) { c.BaseContext = ctx })
	var got any
	r.HandleIQ("", "urn:ctx", ToServer, func(ctx context.Context, q *IQ) *xmlstream.Element {
		got = ctx.Value(key{})
		return q.Result(nil)
	})
	alice := newSession(t, "alice@example.com/a")
	bind(t, r, alice)
	send(t, r, alice, iqTo("example.com", `<q xmlns="urn:ctx"/>`))
	if got != "node" {
		t.Fatalf("handler context value = %v", got)
	}
}
