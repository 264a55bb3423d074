package presence_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/presence"
	"github.com/mongoose-go/mongoose-go/xmpp/roster"
	"github.com/mongoose-go/mongoose-go/xmpp/router/routertest"
)

func setup(t testing.TB) (*moduletest.Harness, *roster.Service) {
	t.Helper()
	h := moduletest.New(t, map[string]string{"a.com": "basic", "plain.com": "plain"})
	svc := roster.New(h.Host)
	h.Start("basic", svc.Module(), nil)
	h.Start("basic", presence.Module, nil)
	for _, u := range []string{"alice", "bob", "carol"} {
		h.AddUser("a.com", u)
	}
	h.AddUser("plain.com", "pat")
	return h, svc
}

func connect(t testing.TB, svc *roster.Service, a, b string) {
	t.Helper()
	if err := svc.Connect(context.Background(), jid.MustParse(a), jid.MustParse(b)); err != nil {
		t.Fatal(err)
	}
}

func expect(t *testing.T, who string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s received:\n  %s\nwant:\n  %s", who, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestBareJIDDeliveryByPriority checks RFC 6121 section 8.5.2.1.1 with presence-driven
// availability: a message to the bare JID goes to the available resources with the
// highest non-negative priority; unavailable and negative-priority resources get none.
func TestBareJIDDeliveryByPriority(t *testing.T) {
	h, _ := setup(t)
	a := h.Login("alice@a.com/r1")
	r1, r2, r3, r4 := h.Login("bob@a.com/r1"), h.Login("bob@a.com/r2"), h.Login("bob@a.com/r3"), h.Login("bob@a.com/r4")
	msg := func(body string) {
		a.Send(`<message to='bob@a.com' type='chat'><body>` + body + `</body></message>`)
	}
	// Nobody has sent presence yet: nobody is available.
	msg("early")
	expect(t, "alice", a.TakeSummaries(), "error message/service-unavailable")
	r1.Send(`<presence><priority>5</priority></presence>`)
	r2.Send(`<presence><priority>10</priority></presence>`)
	r3.Send(`<presence><priority>-1</priority></presence>`)
	for _, s := range []*moduletest.Session{r1, r2, r3, r4} {
		s.Take()
	}
	msg("one")
	expect(t, "r2", r2.TakeSummaries(), "message/chat alice@a.com/r1>bob@a.com one")
	for _, s := range []*moduletest.Session{r1, r3, r4} {
		expect(t, s.JID().String(), s.TakeSummaries())
	}
	// A full JID reaches its resource whatever the priority or availability.
	a.Send(`<message to='bob@a.com/r4' type='chat'><body>direct</body></message>`)
	expect(t, "r4", r4.TakeSummaries(), "message/chat alice@a.com/r1>bob@a.com/r4 direct")
	// r2 goes away: r1 is now the best; a tie sends to both.
	r2.Send(`<presence type='unavailable'/>`)
	r4.Send(`<presence><priority>5</priority></presence>`)
	r1.Take()
	r4.Take()
	msg("two")
	expect(t, "r1", r1.TakeSummaries(), "message/chat alice@a.com/r1>bob@a.com two")
	expect(t, "r4", r4.TakeSummaries(), "message/chat alice@a.com/r1>bob@a.com two")
	expect(t, "r2", r2.TakeSummaries())
	// Only a negative priority left: not delivered (and without mod_offline, bounced).
	r1.Logout(module.Close{})
	r4.Logout(module.Close{})
	r3.Take()
	msg("three")
	expect(t, "r3", r3.TakeSummaries())
	expect(t, "alice", a.TakeSummaries(), "error message/service-unavailable")
	if p, ok := r3.Priority(); !ok || p != -1 {
		t.Errorf("r3 priority = %d, %v", p, ok)
	}
}

func TestBroadcastProbesAndOwnResources(t *testing.T) {
	h, svc := setup(t)
	connect(t, svc, "alice@a.com", "bob@a.com")
	// carol only receives alice's presence; alice does not receive carol's.
	if err := svc.AddContact(context.Background(), jid.MustParse("carol@a.com"), jid.MustParse("alice@a.com"), "", nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, step := range []struct{ from, to, typ string }{
		{"carol@a.com", "alice@a.com", "subscribe"}, {"alice@a.com", "carol@a.com", "subscribed"},
	} {
		if err := svc.Subscription(ctx, jid.MustParse(step.from), jid.MustParse(step.to), step.typ); err != nil {
			t.Fatal(err)
		}
	}
	b := h.Login("bob@a.com/r1")
	b.Send(`<presence><status>at work</status></presence>`)
	c := h.Login("carol@a.com/r1")
	c.Send(`<presence/>`)
	b.Take()
	c.Take()

	a1 := h.Login("alice@a.com/r1")
	a1.Send(`<presence><status>hello</status></presence>`)
	// Section 4.2: bob's presence comes back for the probe (carol's does not: alice has
	// no subscription to her), then alice's own broadcast reaches her resources.
	expect(t, "alice/r1", a1.TakeSummaries(),
		"presence/available bob@a.com/r1>alice@a.com/r1 [at work]",
		"presence/available alice@a.com/r1>alice@a.com [hello]")
	expect(t, "bob", b.TakeSummaries(), "presence/available alice@a.com/r1>bob@a.com [hello]")
	expect(t, "carol", c.TakeSummaries(), "presence/available alice@a.com/r1>carol@a.com [hello]")

	// A second resource learns about the first and about bob.
	a2 := h.Login("alice@a.com/r2")
	a2.Send(`<presence/>`)
	got := a2.TakeSummaries()
	slices.Sort(got)
	expect(t, "alice/r2", got,
		"presence/available alice@a.com/r1>alice@a.com/r2 [hello]",
		"presence/available alice@a.com/r2>alice@a.com",
		"presence/available bob@a.com/r1>alice@a.com/r2 [at work]")
	expect(t, "alice/r1", a1.TakeSummaries(), "presence/available alice@a.com/r2>alice@a.com")
	b.Take()
	c.Take()

	// Unavailable on disconnect reaches the subscribers and the other resource.
	a1.Logout(module.Close{})
	expect(t, "bob", b.TakeSummaries(), "presence/unavailable alice@a.com/r1>bob@a.com")
	expect(t, "carol", c.TakeSummaries(), "presence/unavailable alice@a.com/r1>carol@a.com")
	expect(t, "alice/r2", a2.TakeSummaries(), "presence/unavailable alice@a.com/r1>alice@a.com")
}

func TestProbesFromStrangers(t *testing.T) {
	h, svc := setup(t)
	connect(t, svc, "alice@a.com", "bob@a.com")
	b := h.Login("bob@a.com/r1")
	b.Send(`<presence/>`)
	b.Take()
	// Carol's roster wrongly says she gets bob's presence (bob's has no carol).
	if _, err := h.Store.Apply(context.Background(), &store.SetRosterItem{Domain: "a.com", User: "carol", Static: true,
		Item: store.RosterItem{Contact: "bob@a.com", Sub: store.SubTo, Listed: true}}); err != nil {
		t.Fatal(err)
	}
	c := h.Login("carol@a.com/r1")
	c.Send(`<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>`)
	c.Take()
	// Her initial presence probes bob, who reveals nothing and answers unsubscribed
	// (RFC 6121 4.3.2), which repairs her roster (A.3.4).
	c.Send(`<presence/>`)
	expect(t, "carol", c.TakeSummaries(), "push bob@a.com none", "presence/unsubscribed bob@a.com>carol@a.com",
		"presence/available carol@a.com/r1>carol@a.com")
	// A subscriber's probe, even to a full JID, is answered; clients never see probes.
	a := h.Login("alice@a.com/r1")
	a.Send(`<presence to='bob@a.com/r1' type='probe'/>`)
	expect(t, "alice", a.TakeSummaries(), "presence/available bob@a.com/r1>alice@a.com/r1")
	expect(t, "bob", b.TakeSummaries())
}

func TestDirectedPresence(t *testing.T) {
	h, svc := setup(t)
	connect(t, svc, "alice@a.com", "bob@a.com")
	a := h.Login("alice@a.com/r1")
	b := h.Login("bob@a.com/r1")
	c := h.Login("carol@a.com/r1")
	d := h.Login("pat@plain.com/r1")
	for _, s := range []*moduletest.Session{a, b, c} {
		s.Send(`<presence/>`)
	}
	for _, s := range []*moduletest.Session{a, b, c} {
		s.Take()
	}
	a.Send(`<presence to='carol@a.com'><show>chat</show></presence>`)
	a.Send(`<presence to='pat@plain.com/r1'/>`)
	a.Take()
	expect(t, "carol", c.TakeSummaries(), "presence/available alice@a.com/r1>carol@a.com")
	expect(t, "pat", d.TakeSummaries(), "presence/available alice@a.com/r1>pat@plain.com/r1")
	// Broadcast updates go to subscribers, not to directed-presence recipients.
	a.Send(`<presence><show>dnd</show></presence>`)
	expect(t, "bob", b.TakeSummaries(), "presence/available alice@a.com/r1>bob@a.com")
	expect(t, "carol", c.TakeSummaries())
	// Directed unavailable takes pat off the list; going away tells carol and bob.
	a.Send(`<presence to='pat@plain.com/r1' type='unavailable'/>`)
	expect(t, "pat", d.TakeSummaries(), "presence/unavailable alice@a.com/r1>pat@plain.com/r1")
	a.Logout(module.Close{})
	expect(t, "bob", b.TakeSummaries(), "presence/unavailable alice@a.com/r1>bob@a.com")
	expect(t, "carol", c.TakeSummaries(), "presence/unavailable alice@a.com/r1>carol@a.com")
	expect(t, "pat", d.TakeSummaries())
}

func TestInvalidPresenceAndHostTypeWithoutModule(t *testing.T) {
	h, _ := setup(t)
	a := h.Login("alice@a.com/r1")
	a.Send(`<presence type='dance'/>`)
	expect(t, "alice", a.TakeSummaries(), "error presence/bad-request")
	// Presence to one's own bare JID is a broadcast; the non-RFC type 'available'
	// is accepted and not passed on.
	a.Send(`<presence to='alice@a.com' type='available'><priority>2</priority></presence>`)
	got := a.Take()
	if len(got) != 1 || moduletest.Summary(got[0]) != "presence/available alice@a.com/r1>alice@a.com [2]" || got[0].Attr("type") != "" {
		t.Fatalf("own bare JID broadcast: %v", got)
	}
	if p, ok := a.Priority(); !ok || p != 2 {
		t.Errorf("priority %d %v", p, ok)
	}
	// plain.com runs no mod_presence: its sessions are available from the start and
	// nothing tracks their presence.
	p := h.Login("pat@plain.com/r1")
	if _, ok := p.Priority(); !ok {
		t.Error("a session without mod_presence is not available")
	}
	a.Send(`<message to='pat@plain.com'><body>hi</body></message>`)
	expect(t, "pat", p.TakeSummaries(), "message/normal alice@a.com/r1>pat@plain.com hi")
}

func TestReplacedSessionKeepsItsSuccessorAvailable(t *testing.T) {
	h, svc := setup(t)
	connect(t, svc, "alice@a.com", "bob@a.com")
	b := h.Login("bob@a.com/r1")
	b.Send(`<presence/>`)
	old := h.Login("alice@a.com/r1")
	old.Send(`<presence/>`)
	b.Take()
	// A new bind of the same full JID replaces the old session, which the router
	// stops; the new one is available before the old one's close runs.
	fresh := h.Login("alice@a.com/r1")
	if stops := old.Stops(); len(stops) != 1 || stops[0] != (routertest.Stop{Cond: "conflict", Text: "Replaced by new connection"}) {
		t.Fatalf("old session stops: %v", stops)
	}
	fresh.Send(`<presence/>`)
	expect(t, "bob", b.TakeSummaries(), "presence/available alice@a.com/r1>bob@a.com")
	old.Logout(module.Close{Replaced: true, Condition: "conflict", Text: "Replaced by new connection"})
	expect(t, "bob", b.TakeSummaries())
	// Replaced before its successor sent presence: the old session says goodbye.
	fresh2 := h.Login("alice@a.com/r1")
	fresh.Logout(module.Close{Replaced: true})
	expect(t, "bob", b.TakeSummaries(), "presence/unavailable alice@a.com/r1>bob@a.com [Replaced by new connection]")
	_ = fresh2
}

// BenchmarkPresenceBroadcast measures one presence update of a user whose 100 contacts
// are all subscribed and online: the roster read and 101 deliveries (the contacts and
// the user's own resource), each serialised as c2s would.
func BenchmarkPresenceBroadcast(b *testing.B) {
	h, _ := setup(b)
	ctx := context.Background()
	const n = 100
	var sessions []*moduletest.Session
	for i := range n {
		u := fmt.Sprintf("c%03d", i)
		h.AddUser("a.com", u)
		for _, m := range []*store.SetRosterItem{
			{Domain: "a.com", User: "alice", Static: true, Item: store.RosterItem{Contact: u + "@a.com", Sub: store.SubBoth, Listed: true}},
			{Domain: "a.com", User: u, Static: true, Item: store.RosterItem{Contact: "alice@a.com", Sub: store.SubBoth, Listed: true}},
		} {
			if _, err := h.Store.Apply(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
		s := h.Login(u + "@a.com/r")
		s.SetDiscard(true)
		s.Send(`<presence/>`)
		sessions = append(sessions, s)
	}
	a := h.Login("alice@a.com/r")
	a.SetDiscard(true)
	a.Send(`<presence/>`)
	before := sessions[0].Count()
	update := routertest.Parse(b, `<presence><show>away</show><status>in a meeting</status></presence>`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a.SendElement(update)
	}
	b.StopTimer()
	if got := sessions[0].Count() - before; got < b.N {
		b.Fatalf("contact got %d updates for %d broadcasts", got, b.N)
	}
}
