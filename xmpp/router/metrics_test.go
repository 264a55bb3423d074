package router

import (
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/metrics"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
)

// TestSessionGaugeAndNoRoute: the per-host-type session gauge follows binds,
// replacements, unbinds and the bulk removals; a stanza for a domain nobody serves
// counts as no route, under the sender's host type.
func TestSessionGaugeAndNoRoute(t *testing.T) {
	ms := metrics.New()
	r := newRouter(t, func(c *Config) { c.Metrics = ms })
	gauge := func(ht string) int64 { return ms.Sessions.For(ht).Value() }

	_, bob1, bob2 := twoUsers(t, r)
	carol := newSession(t, "carol@other.org/c")
	bind(t, r, carol)
	if gauge("t1") != 3 || gauge("t2") != 1 {
		t.Fatalf("after binds: t1=%d t2=%d", gauge("t1"), gauge("t2"))
	}
	// Replacing a resource keeps the count.
	bind(t, r, newSession(t, "bob@example.com/2"))
	if gauge("t1") != 3 {
		t.Fatalf("after a replacement: t1=%d", gauge("t1"))
	}
	r.Unbind(bob2) // replaced already: no effect
	r.Unbind(bob1)
	if gauge("t1") != 2 {
		t.Fatalf("after unbind: t1=%d", gauge("t1"))
	}
	if n := r.CloseUser("other.org", "carol"); n != 1 || gauge("t2") != 0 {
		t.Fatalf("CloseUser: %d stopped, t2=%d", n, gauge("t2"))
	}
	if n := r.CloseDomain("example.com"); n != 2 || gauge("t1") != 0 {
		t.Fatalf("CloseDomain: %d stopped, t1=%d", n, gauge("t1"))
	}
	if int64(r.Count()) != gauge("t1")+gauge("t2") {
		t.Fatalf("Count %d disagrees with the gauges", r.Count())
	}

	dave := newSession(t, "dave@example.net/d")
	bind(t, r, dave)
	send(t, r, dave, `<message to="x@nowhere.test" type="chat" id="m1"><body>hi</body></message>`)
	wantError(t, dave.One(t), stanza.RemoteServerNotFound, "x@nowhere.test", "dave@example.net/d")
	if n := ms.NoRouteFound.For("t1").Value(); n != 1 {
		t.Fatalf("no route: %d, want 1", n)
	}
}
