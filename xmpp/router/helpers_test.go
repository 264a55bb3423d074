package router

import (
	"log/slog"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/router/routertest"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// testDir serves example.com and example.net (host type "t1") and other.org ("t2").
var testDir = routertest.Directory{"example.com": "t1", "example.net": "t1", "other.org": "t2"}

var parse = routertest.Parse

type fakeSession = routertest.Session

type stopCall = routertest.Stop

func newSession(t testing.TB, full string) *fakeSession {
	t.Helper()
	j, err := jid.Parse(full)
	if err != nil {
		t.Fatal(err)
	}
	ht, _ := testDir.HostTypeOf(j.Domain())
	return routertest.NewSession(t, full, ht)
}

// prioSession adds presence to a fakeSession.
type prioSession struct {
	*fakeSession
	prio      int
	available bool
}

func (p *prioSession) Priority() (int, bool) { return p.prio, p.available }

func newRouter(t testing.TB, mod func(*Config)) *Router {
	t.Helper()
	cfg := Config{Directory: testDir, Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func bind(t testing.TB, r *Router, ss ...Session) {
	t.Helper()
	for _, s := range ss {
		if err := r.Bind(s); err != nil {
			t.Fatalf("Bind %s: %v", s.JID(), err)
		}
	}
}

// send stamps 'from' as c2s does and routes the stanza.
func send(t testing.TB, r *Router, from Session, s string) *xmlstream.Element {
	t.Helper()
	el := parse(t, s)
	el.SetAttr("from", from.JID().String())
	r.Route(from, el)
	return el
}

// wantError checks that el is an error reply with the given condition, addressed
// back to 'to' from 'from'.
func wantError(t testing.TB, el *xmlstream.Element, c stanza.Condition, from, to string) {
	t.Helper()
	if el.Attr("type") != "error" {
		t.Fatalf("not an error: %s", el)
	}
	e := el.Child(stanza.NSClient, "error")
	if e == nil || e.Child(stanza.NSStanzas, c.Name) == nil || e.Attr("type") != c.Type {
		t.Fatalf("want %s/%s error, got %s", c.Type, c.Name, el)
	}
	if el.Attr("from") != from || el.Attr("to") != to {
		t.Fatalf("error from=%q to=%q, want from=%q to=%q: %s", el.Attr("from"), el.Attr("to"), from, to, el)
	}
}
