package router

import (
	"context"
	"errors"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/router/routertest"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// twoUsers binds alice (one resource) and bob (two resources).
func twoUsers(t *testing.T, r *Router) (alice, bob1, bob2 *fakeSession) {
	alice = newSession(t, "alice@example.com/a")
	bob1 = newSession(t, "bob@example.com/1")
	bob2 = newSession(t, "bob@example.com/2")
	bind(t, r, alice, bob1, bob2)
	return
}

func TestMessageToFullJID(t *testing.T) {
	r := newRouter(t, nil)
	alice, bob1, bob2 := twoUsers(t, r)
	el := send(t, r, alice, `<message to="Bob@Example.com/2" type="chat" id="m1"><body>hi</body></message>`)
	if got := bob2.One(t); got != el {
		t.Fatalf("bob/2 got %s", got)
	}
	bob1.None(t)
	alice.None(t)
}

func TestMessageToUnavailableFullJID(t *testing.T) {
	for _, typ := range []string{"chat", "normal", "headline", ""} {
		t.Run("type "+typ, func(t *testing.T) {
			r := newRouter(t, nil)
			alice, bob1, bob2 := twoUsers(t, r)
			el := parse(t, `<message to="bob@example.com/gone" id="m1"><body>hi</body></message>`)
			if typ != "" {
				el.SetAttr("type", typ)
			}
			el.SetAttr("from", alice.JID().String())
			r.Route(alice, el)
			// RFC 6121 8.5.3.2.1: treated as addressed to the bare JID.
			if bob1.One(t) != el || bob2.One(t) != el {
				t.Fatal("not delivered to the bare JID's resources")
			}
			alice.None(t)
		})
	}
	t.Run("groupchat", func(t *testing.T) {
		r := newRouter(t, nil)
		alice, bob1, bob2 := twoUsers(t, r)
		send(t, r, alice, `<message to="bob@example.com/gone" type="groupchat"><body>hi</body></message>`)
		wantError(t, alice.One(t), stanza.ServiceUnavailable, "bob@example.com/gone", "alice@example.com/a")
		bob1.None(t)
		bob2.None(t)
	})
	t.Run("error", func(t *testing.T) {
		r := newRouter(t, nil)
		alice, bob1, _ := twoUsers(t, r)
		send(t, r, alice, `<message to="bob@example.com/gone" type="error"><error type="cancel"/></message>`)
		alice.None(t)
		bob1.None(t)
	})
	t.Run("session refuses", func(t *testing.T) {
		// A session that is closing does not swallow the message: its siblings get it.
		r := newRouter(t, nil)
		alice, bob1, bob2 := twoUsers(t, r)
		bob2.SetRefuse(true)
		el := send(t, r, alice, `<message to="bob@example.com/2" type="chat"><body>hi</body></message>`)
		if bob1.One(t) != el {
			t.Fatal("not delivered to the remaining resource")
		}
		alice.None(t)
	})
}

func TestMessageToBareJID(t *testing.T) {
	r := newRouter(t, nil)
	alice, bob1, bob2 := twoUsers(t, r)
	el := send(t, r, alice, `<message to="bob@example.com" type="chat"><body>hi</body></message>`)
	if bob1.One(t) != el || bob2.One(t) != el {
		t.Fatal("not delivered to every resource")
	}
	alice.None(t)
}

func TestMessageWithoutTo(t *testing.T) {
	// RFC 6120 10.3.1: the sender's own bare JID, so every own resource (itself too).
	r := newRouter(t, nil)
	_, bob1, bob2 := twoUsers(t, r)
	el := send(t, r, bob1, `<message type="chat"><body>note to self</body></message>`)
	if bob1.One(t) != el || bob2.One(t) != el {
		t.Fatal("not delivered to the sender's resources")
	}
}

func TestMessageToOfflineUser(t *testing.T) {
	cases := []struct {
		typ    string
		bounce bool
	}{
		{"chat", true}, {"normal", true}, {"", true}, {"unknown-type", true},
		{"headline", false}, {"groupchat", false}, {"error", false},
	}
	for _, c := range cases {
		t.Run("type "+c.typ, func(t *testing.T) {
			r := newRouter(t, nil)
			alice := newSession(t, "alice@example.com/a")
			bind(t, r, alice)
			el := parse(t, `<message to="bob@example.com" id="x"><body>hi</body></message>`)
			if c.typ != "" {
				el.SetAttr("type", c.typ)
			}
			el.SetAttr("from", alice.JID().String())
			r.Route(alice, el)
			if !c.bounce {
				alice.None(t)
				return
			}
			got := alice.One(t)
			wantError(t, got, stanza.ServiceUnavailable, "bob@example.com", "alice@example.com/a")
			if got.Attr("id") != "x" || got.Attr("code") != "" || got.Child(stanza.NSClient, "error").Attr("code") != "503" {
				t.Fatalf("error reply %s", got)
			}
			if el.Attr("type") == "error" {
				t.Fatal("original stanza modified")
			}
		})
	}
}

func TestOfflineHook(t *testing.T) {
	type call struct {
		hostType string
		to       jid.JID
		el       *xmlstream.Element
	}
	var calls []call
	store := true
	r := newRouter(t, func(c *Config) {
		c.Offline = func(hostType string, to jid.JID, el *xmlstream.Element) bool {
			calls = append(calls, call{hostType, to, el})
			return store
		}
		c.Accounts = routertest.Accounts{"bob@other.org": true}
	})
	alice := newSession(t, "alice@example.com/a")
	bind(t, r, alice)

	el := send(t, r, alice, `<message to="bob@other.org/x" type="chat"><body>1</body></message>`)
	if len(calls) != 1 || calls[0] != (call{"t2", jid.MustParse("bob@other.org/x"), el}) {
		t.Fatalf("Offline calls %v", calls)
	}
	alice.None(t) // stored: no bounce

	store = false
	send(t, r, alice, `<message to="bob@other.org" type="chat"><body>2</body></message>`)
	wantError(t, alice.One(t), stanza.ServiceUnavailable, "bob@other.org", "alice@example.com/a")

	// Errors are never offered; accounts that do not exist are not either.
	calls = nil
	send(t, r, alice, `<message to="bob@other.org" type="error"/>`)
	send(t, r, alice, `<message to="ghost@other.org" type="headline"/>`)
	if len(calls) != 0 {
		t.Fatalf("Offline offered %v", calls)
	}
	store = true
	send(t, r, alice, `<message to="ghost@other.org" type="chat"><body>3</body></message>`)
	if len(calls) != 0 {
		t.Fatal("message to a nonexistent account offered to offline storage")
	}
	if got := alice.Received(); len(got) != 2 {
		t.Fatalf("alice got %d stanzas, want 2 (one bounce per chat)", len(got))
	}
	wantError(t, alice.Received()[1], stanza.ServiceUnavailable, "ghost@other.org", "alice@example.com/a")
}

func TestPriority(t *testing.T) {
	r := newRouter(t, nil)
	alice := newSession(t, "alice@example.com/a")
	hi := &prioSession{newSession(t, "bob@example.com/hi"), 5, true}
	hi2 := &prioSession{newSession(t, "bob@example.com/hi2"), 5, true}
	lo := &prioSession{newSession(t, "bob@example.com/lo"), 1, true}
	away := &prioSession{newSession(t, "bob@example.com/away"), 9, false}
	bind(t, r, alice, hi, hi2, lo, away)

	el := send(t, r, alice, `<message to="bob@example.com" type="chat"><body>hi</body></message>`)
	if hi.One(t) != el || hi2.One(t) != el {
		t.Fatal("highest priority resources did not get the message")
	}
	lo.None(t)
	away.None(t)

	// Presence to the bare JID goes to every available resource.
	p := send(t, r, alice, `<presence to="bob@example.com"/>`)
	if got := lo.One(t); got != p {
		t.Fatalf("lo got %v", got)
	}
	away.None(t)

	// Only negative priorities: as if offline.
	r2 := newRouter(t, nil)
	neg := &prioSession{newSession(t, "bob@example.com/neg"), -1, true}
	alice2 := newSession(t, "alice@example.com/a")
	bind(t, r2, neg, alice2)
	send(t, r2, alice2, `<message to="bob@example.com" type="chat"><body>hi</body></message>`)
	neg.None(t)
	wantError(t, alice2.One(t), stanza.ServiceUnavailable, "bob@example.com", "alice@example.com/a")
	// A full JID reaches a negative-priority resource.
	el = send(t, r2, alice2, `<message to="bob@example.com/neg" type="chat"><body>hi</body></message>`)
	if neg.One(t) != el {
		t.Fatal("full JID did not reach its resource")
	}
}

func TestPresence(t *testing.T) {
	var hooked []*xmlstream.Element
	var hookFrom Session
	r := newRouter(t, func(c *Config) {
		c.Presence = func(from Session, el *xmlstream.Element) { hookFrom, hooked = from, append(hooked, el) }
	})
	alice, bob1, bob2 := twoUsers(t, r)

	p := send(t, r, alice, `<presence to="bob@example.com/1"/>`)
	if bob1.One(t) != p {
		t.Fatal("directed presence to full JID not delivered")
	}
	bob2.None(t)

	p = send(t, r, alice, `<presence to="bob@example.com" type="subscribe"/>`)
	if len(bob1.Received()) != 2 || bob2.One(t) != p {
		t.Fatal("presence to bare JID not delivered to all resources")
	}

	// Never answered with errors, whatever the reason.
	send(t, r, alice, `<presence to="bob@example.com/gone"/>`)
	send(t, r, alice, `<presence to="nobody@example.com"/>`)
	send(t, r, alice, `<presence to="example.com"/>`)
	alice.None(t)

	p = send(t, r, alice, `<presence><show>away</show></presence>`)
	if len(hooked) != 1 || hooked[0] != p || hookFrom != alice {
		t.Fatalf("Presence hook got %v from %v", hooked, hookFrom)
	}

	// Without a hook, broadcast presence goes nowhere.
	r2 := newRouter(t, nil)
	alice2, b1, b2 := twoUsers(t, r2)
	send(t, r2, alice2, `<presence/>`)
	alice2.None(t)
	b1.None(t)
	b2.None(t)
}

func TestRemoteServerNotFound(t *testing.T) {
	r := newRouter(t, nil)
	alice := newSession(t, "alice@example.com/a")
	bind(t, r, alice)
	send(t, r, alice, `<message to="bob@remote.example" type="chat"><body>hi</body></message>`)
	wantError(t, alice.One(t), stanza.RemoteServerNotFound, "bob@remote.example", "alice@example.com/a")

	// A subdomain of a served domain is another domain (MongooseIM's dynamic
	// domains test iq_handling_for_subdomain).
	send(t, r, alice, `<iq to="muc.example.com" type="get" id="1"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	wantError(t, alice.Received()[1], stanza.RemoteServerNotFound, "muc.example.com", "alice@example.com/a")

	send(t, r, alice, `<message to="bob@remote.example" type="error"/>`)
	if len(alice.Received()) != 2 {
		t.Fatal("an error was answered")
	}
}

func TestJIDMalformed(t *testing.T) {
	r := newRouter(t, nil)
	alice := newSession(t, "alice@example.com/a")
	bind(t, r, alice)
	send(t, r, alice, `<message to="@example.com" type="chat" id="m"><body>hi</body></message>`)
	wantError(t, alice.One(t), stanza.JIDMalformed, "@example.com", "alice@example.com/a")
}

func TestMessageToServer(t *testing.T) {
	r := newRouter(t, nil)
	alice := newSession(t, "alice@example.com/a")
	bind(t, r, alice)
	send(t, r, alice, `<message to="example.com" type="chat"><body>hi</body></message>`)
	send(t, r, alice, `<message to="example.com/res" type="chat"><body>hi</body></message>`)
	alice.None(t)
}

func TestFilters(t *testing.T) {
	type seen struct {
		hostType string
		from, to jid.JID
	}
	var log []seen
	// Drop stanzas crossing host types, with an error like mod_domain_isolation's.
	isolate := func(hostType string, from, to jid.JID, el *xmlstream.Element) (bool, *xmlstream.Element) {
		log = append(log, seen{hostType, from, to})
		if from.Domain() != to.Domain() {
			return true, stanza.ErrorReply(el, stanza.ServiceUnavailable, "Filtered by the domain isolation")
		}
		return false, nil
	}
	var second int
	counter := func(string, jid.JID, jid.JID, *xmlstream.Element) (bool, *xmlstream.Element) {
		second++
		return false, nil
	}
	r := newRouter(t, func(c *Config) { c.Filters = []Filter{isolate, counter} })
	alice, bob1, bob2 := twoUsers(t, r)
	carol := newSession(t, "carol@other.org/c")
	bind(t, r, carol)

	el := send(t, r, alice, `<message to="bob@example.com/1" type="chat"><body>hi</body></message>`)
	if bob1.One(t) != el || second != 1 {
		t.Fatalf("passing stanza: delivered=%v, second filter ran %d times", bob1.Received(), second)
	}
	if log[0] != (seen{"t1", alice.JID(), jid.MustParse("bob@example.com/1")}) {
		t.Fatalf("filter saw %v", log[0])
	}

	send(t, r, alice, `<message to="carol@other.org" type="chat"><body>hi</body></message>`)
	carol.None(t)
	got := alice.One(t)
	wantError(t, got, stanza.ServiceUnavailable, "carol@other.org", "alice@example.com/a")
	if log[1].hostType != "t2" || second != 1 {
		t.Fatalf("filter got host type %q (want the recipient's), later filter ran %d", log[1].hostType, second)
	}

	// A dropped error is not answered; a dropped IQ to a server is answered by the filter.
	send(t, r, carol, `<message to="alice@example.com" type="error"/>`)
	carol.None(t)
	send(t, r, carol, `<iq to="example.com" type="get" id="p"><ping xmlns="urn:xmpp:ping"/></iq>`)
	wantError(t, carol.One(t), stanza.ServiceUnavailable, "example.com", "carol@other.org/c")
	bob2.None(t)

	// Drop without a reply.
	r2 := newRouter(t, func(c *Config) {
		c.Filters = []Filter{func(string, jid.JID, jid.JID, *xmlstream.Element) (bool, *xmlstream.Element) { return true, nil }}
	})
	a2, b21, _ := twoUsers(t, r2)
	send(t, r2, a2, `<message to="bob@example.com/1" type="chat"><body>hi</body></message>`)
	a2.None(t)
	b21.None(t)
}

func TestDeliverFromServerSide(t *testing.T) {
	r := newRouter(t, nil)
	r.HandleIQ("", stanza.NSPing, ToBoth, func(_ context.Context, q *IQ) *xmlstream.Element { return q.Result(nil) })
	alice, bob1, bob2 := twoUsers(t, r)

	el := parse(t, `<message from="example.com" to="bob@example.com" type="headline"><body>maintenance</body></message>`)
	if err := r.Deliver(el); err != nil {
		t.Fatal(err)
	}
	if bob1.One(t) != el || bob2.One(t) != el {
		t.Fatal("admin message not delivered")
	}

	// Replies go to 'from' when it is a local session.
	if err := r.Deliver(parse(t, `<message from="alice@example.com/a" to="nobody@example.com" type="chat" id="b"><body>x</body></message>`)); err != nil {
		t.Fatal(err)
	}
	wantError(t, alice.One(t), stanza.ServiceUnavailable, "nobody@example.com", "alice@example.com/a")
	if err := r.Deliver(parse(t, `<iq from="alice@example.com" to="example.com" type="get" id="p"><ping xmlns="urn:xmpp:ping"/></iq>`)); err != nil {
		t.Fatal(err)
	}
	if got := alice.Received(); len(got) != 2 || got[1].Attr("type") != "result" || got[1].Attr("id") != "p" {
		t.Fatalf("alice got %v", got)
	}
	// ... and nowhere when it is the server.
	if err := r.Deliver(parse(t, `<iq from="example.com" to="example.com" type="get" id="q"><ping xmlns="urn:xmpp:ping"/></iq>`)); err != nil {
		t.Fatal(err)
	}

	for _, bad := range []string{
		`<message to="bob@example.com"><body>x</body></message>`,
		`<message from="example.com"><body>x</body></message>`,
		`<message from="@example.com" to="bob@example.com"/>`,
		`<message from="example.com" to="bob@@example.com"/>`,
	} {
		if err := r.Deliver(parse(t, bad)); !errors.Is(err, ErrBadAddress) {
			t.Errorf("Deliver(%s) = %v, want ErrBadAddress", bad, err)
		}
	}
	if len(bob1.Received()) != 1 {
		t.Fatal("a refused stanza was delivered")
	}
}

func TestUnknownStanzaIgnored(t *testing.T) {
	r := newRouter(t, nil)
	alice, bob1, _ := twoUsers(t, r)
	send(t, r, alice, `<foo to="bob@example.com/1"/>`)
	send(t, r, alice, `<foo/>`)
	alice.None(t)
	bob1.None(t)
}
