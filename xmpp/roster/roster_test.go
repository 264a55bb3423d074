package roster_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/presence"
	"github.com/mongoose-go/mongoose-go/xmpp/roster"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// setup serves a.com (host type "basic": mod_roster and mod_presence) and off.com
// (host type "bare": mod_presence only), with alice, bob and carol on a.com and dave on
// off.com.
func setup(t *testing.T, rosterOpts module.Options) (*moduletest.Harness, *roster.Service) {
	t.Helper()
	h := moduletest.New(t, map[string]string{"a.com": "basic", "off.com": "bare"})
	svc := roster.New(h.Host)
	h.Start("basic", svc.Module(), rosterOpts)
	h.Start("basic", presence.Module, nil)
	h.Start("bare", presence.Module, nil)
	for _, u := range []string{"alice", "bob", "carol"} {
		h.AddUser("a.com", u)
	}
	h.AddUser("off.com", "dave")
	return h, svc
}

// online logs a resource in, fetches the roster (making it an interested resource) and
// sends initial presence, then forgets what that produced.
func online(h *moduletest.Harness, full string) *moduletest.Session {
	s := h.Login(full)
	s.Send(`<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>`)
	s.Send(`<presence/>`)
	s.Take()
	return s
}

func expect(t *testing.T, who string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s received:\n  %s\nwant:\n  %s", who, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// rosterResult summarises a roster result: its items (as a push would show them) and
// version, or "empty" for a result without a query.
func rosterResult(t *testing.T, el *xmlstream.Element) string {
	t.Helper()
	if el.Attr("type") != "result" {
		t.Fatalf("roster get answered %s", el)
	}
	q := el.Child(roster.NS, "query")
	if q == nil {
		return "empty"
	}
	push := el.Clone()
	push.SetAttr("type", "set")
	return strings.TrimPrefix(moduletest.Summary(push), "push")
}

func get(t *testing.T, s *moduletest.Session, ver string) string {
	t.Helper()
	q := `<query xmlns='jabber:iq:roster'/>`
	if ver != "-" {
		q = `<query xmlns='jabber:iq:roster' ver='` + ver + `'/>`
	}
	s.Send(`<iq type='get' id='g'>` + q + `</iq>`)
	got := s.Take()
	if len(got) != 1 {
		t.Fatalf("roster get: %v", moduletest.Summaries(got))
	}
	return rosterResult(t, got[0])
}

func TestRosterSetPushGetRemove(t *testing.T) {
	h, _ := setup(t, nil)
	a1 := h.Login("alice@a.com/r1")
	a2 := h.Login("alice@a.com/r2")
	if got := get(t, a1, "-"); got != "" {
		t.Fatalf("empty roster: %q", got)
	}
	// r1 asked for the roster: it is interested, r2 is not (RFC 6121 2.1.6).
	a1.Send(`<iq type='set' id='s1'><query xmlns='jabber:iq:roster'><item jid='Bob@A.com' name='Bob'><group>Friends</group><group>Work</group></item></query></iq>`)
	expect(t, "r1", a1.TakeSummaries(), "push bob@a.com none name=Bob groups=Friends,Work", "iq/result")
	expect(t, "r2", a2.TakeSummaries())
	if got := get(t, a2, "-"); got != " bob@a.com none name=Bob groups=Friends,Work" {
		t.Fatalf("roster of r2: %q", got)
	}
	// An update replaces name and groups; both resources are interested now.
	a2.Send(`<iq type='set' id='s2'><query xmlns='jabber:iq:roster'><item jid='bob@a.com' name='Bobby' subscription='both' ask='subscribe'/></query></iq>`)
	expect(t, "r2", a2.TakeSummaries(), "push bob@a.com none name=Bobby", "iq/result")
	expect(t, "r1", a1.TakeSummaries(), "push bob@a.com none name=Bobby")
	// The same set again changes nothing and pushes nothing.
	a2.Send(`<iq type='set' id='s3'><query xmlns='jabber:iq:roster'><item jid='bob@a.com' name='Bobby'/></query></iq>`)
	expect(t, "r2", a2.TakeSummaries(), "iq/result")
	expect(t, "r1", a1.TakeSummaries())

	a1.Send(`<iq type='set' id='s4'><query xmlns='jabber:iq:roster'><item jid='bob@a.com' subscription='remove'/></query></iq>`)
	expect(t, "r1", a1.TakeSummaries(), "push bob@a.com remove", "iq/result")
	expect(t, "r2", a2.TakeSummaries(), "push bob@a.com remove")
	// RFC 6121 2.5.3: removing what is not there.
	a1.Send(`<iq type='set' id='s5'><query xmlns='jabber:iq:roster'><item jid='bob@a.com' subscription='remove'/></query></iq>`)
	expect(t, "r1", a1.TakeSummaries(), "error iq/item-not-found")
}

func TestRosterBadInput(t *testing.T) {
	h, _ := setup(t, nil)
	a := h.Login("alice@a.com/r1")
	long := strings.Repeat("x", roster.MaxNameLen+1)
	for _, c := range []struct{ name, iq, want string }{
		{"two items", `<iq type='set' id='1'><query xmlns='jabber:iq:roster'><item jid='b@a.com'/><item jid='c@a.com'/></query></iq>`, "bad-request"},
		{"no item", `<iq type='set' id='2'><query xmlns='jabber:iq:roster'/></iq>`, "bad-request"},
		{"no jid", `<iq type='set' id='3'><query xmlns='jabber:iq:roster'><item name='x'/></query></iq>`, "bad-request"},
		{"duplicate groups", `<iq type='set' id='4'><query xmlns='jabber:iq:roster'><item jid='b@a.com'><group>G</group><group>G</group></item></query></iq>`, "bad-request"},
		{"empty group", `<iq type='set' id='5'><query xmlns='jabber:iq:roster'><item jid='b@a.com'><group/></item></query></iq>`, "not-acceptable"},
		{"long group", `<iq type='set' id='6'><query xmlns='jabber:iq:roster'><item jid='b@a.com'><group>` + long + `</group></item></query></iq>`, "not-acceptable"},
		{"long name", `<iq type='set' id='7'><query xmlns='jabber:iq:roster'><item jid='b@a.com' name='` + long + `'/></query></iq>`, "not-acceptable"},
		{"own JID", `<iq type='set' id='8'><query xmlns='jabber:iq:roster'><item jid='alice@a.com/other'/></query></iq>`, "not-acceptable"},
		{"malformed JID", `<iq type='set' id='9'><query xmlns='jabber:iq:roster'><item jid='a@b@c'/></query></iq>`, "jid-malformed"},
		{"another user's roster", `<iq type='set' id='10' to='bob@a.com'><query xmlns='jabber:iq:roster'><item jid='c@a.com'/></query></iq>`, "forbidden"},
		{"another user's roster, get", `<iq type='get' id='11' to='bob@a.com'><query xmlns='jabber:iq:roster'/></iq>`, "forbidden"},
		{"wrong element", `<iq type='get' id='12'><roster xmlns='jabber:iq:roster'/></iq>`, "bad-request"},
	} {
		a.Send(c.iq)
		expect(t, c.name, a.TakeSummaries(), "error iq/"+c.want)
	}
	// A name of exactly the limit is fine.
	a.Send(`<iq type='set' id='13'><query xmlns='jabber:iq:roster'><item jid='b@a.com' name='` + long[1:] + `'/></query></iq>`)
	expect(t, "name at the limit", a.TakeSummaries(), "iq/result")
}

func TestRosterVersioning(t *testing.T) {
	h, _ := setup(t, moduletest.Options{"versioning": true})
	a := h.Login("alice@a.com/r1")
	if got := get(t, a, ""); got != " ver=0" {
		t.Fatalf("first versioned get: %q", got)
	}
	a.Send(`<iq type='set' id='s'><query xmlns='jabber:iq:roster'><item jid='bob@a.com'/></query></iq>`)
	expect(t, "alice", a.TakeSummaries(), "push bob@a.com none ver=1", "iq/result")
	if got := get(t, a, "1"); got != "empty" {
		t.Errorf("get at the current version: %q", got)
	}
	if got := get(t, a, "0"); got != " bob@a.com none ver=1" {
		t.Errorf("get at an old version: %q", got)
	}
	a.Send(`<iq type='set' id='s'><query xmlns='jabber:iq:roster'><item jid='carol@a.com'/></query></iq>`)
	a.Send(`<iq type='set' id='s'><query xmlns='jabber:iq:roster'><item jid='bob@a.com' subscription='remove'/></query></iq>`)
	expect(t, "alice", a.TakeSummaries(), "push carol@a.com none ver=2", "iq/result", "push bob@a.com remove ver=3", "iq/result")
	// Without versioning no ver is sent, whatever the client asks.
	h2, _ := setup(t, nil)
	if got := get(t, h2.Login("alice@a.com/r1"), ""); got != "" {
		t.Errorf("unversioned get: %q", got)
	}
}

// TestMutualSubscription walks RFC 6121 section 3.1 between two local users, checking
// the roster pushes and presence each side sees at every step.
func TestMutualSubscription(t *testing.T) {
	h, _ := setup(t, nil)
	a := online(h, "alice@a.com/r1")
	b := online(h, "bob@a.com/r1")

	a.Send(`<presence to='bob@a.com' type='subscribe'><status>hi</status></presence>`)
	expect(t, "alice", a.TakeSummaries(), "push bob@a.com none ask=subscribe")
	expect(t, "bob", b.TakeSummaries(), "presence/subscribe alice@a.com>bob@a.com [hi]")

	b.Send(`<presence to='alice@a.com' type='subscribed'/>`)
	expect(t, "bob", b.TakeSummaries(), "push alice@a.com from")
	expect(t, "alice", a.TakeSummaries(),
		"push bob@a.com to", "presence/subscribed bob@a.com>alice@a.com", "presence/available bob@a.com/r1>alice@a.com")

	b.Send(`<presence to='alice@a.com' type='subscribe'/>`)
	expect(t, "bob", b.TakeSummaries(), "push alice@a.com from ask=subscribe")
	expect(t, "alice", a.TakeSummaries(), "presence/subscribe bob@a.com>alice@a.com")

	a.Send(`<presence to='bob@a.com' type='subscribed'/>`)
	expect(t, "alice", a.TakeSummaries(), "push bob@a.com both")
	expect(t, "bob", b.TakeSummaries(),
		"push alice@a.com both", "presence/subscribed alice@a.com>bob@a.com", "presence/available alice@a.com/r1>bob@a.com")

	// Presence now flows both ways: updates, unavailable on disconnect, and the
	// probe of a new session is answered on bob's behalf.
	a.Send(`<presence><show>away</show></presence>`)
	expect(t, "bob", b.TakeSummaries(), "presence/available alice@a.com/r1>bob@a.com")
	expect(t, "alice", a.TakeSummaries(), "presence/available alice@a.com/r1>alice@a.com")
	a.Logout(module.Close{})
	expect(t, "bob", b.TakeSummaries(), "presence/unavailable alice@a.com/r1>bob@a.com")
	a = h.Login("alice@a.com/r2")
	a.Send(`<presence><priority>3</priority></presence>`)
	expect(t, "alice", a.TakeSummaries(), "presence/available bob@a.com/r1>alice@a.com/r2", "presence/available alice@a.com/r2>alice@a.com [3]")
	expect(t, "bob", b.TakeSummaries(), "presence/available alice@a.com/r2>bob@a.com [3]")

	for _, c := range []struct{ user, contact, sub string }{{"alice", "bob@a.com", "both"}, {"bob", "alice@a.com", "both"}} {
		it := item(t, h, c.user, c.contact)
		if it.Sub.String() != c.sub || it.PendingIn || it.PendingOut || it.Request != "" {
			t.Errorf("%s's item for %s: %+v", c.user, c.contact, it)
		}
	}
}

func item(t *testing.T, h *moduletest.Harness, user, contact string) store.RosterItem {
	t.Helper()
	var it store.RosterItem
	err := h.Store.View(func(tx *bolt.Tx) error {
		var err error
		it, _, err = store.GetRosterItem(tx, "a.com", user, contact)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func TestPreApproval(t *testing.T) {
	h, _ := setup(t, nil)
	a := online(h, "alice@a.com/r1")
	b := online(h, "bob@a.com/r1")
	b.Send(`<presence to='alice@a.com' type='subscribed'/>`)
	expect(t, "bob", b.TakeSummaries(), "push alice@a.com none approved")
	expect(t, "alice", a.TakeSummaries())

	a.Send(`<presence to='bob@a.com' type='subscribe'/>`)
	expect(t, "alice", a.TakeSummaries(), "push bob@a.com none ask=subscribe",
		"push bob@a.com to", "presence/subscribed bob@a.com>alice@a.com", "presence/available bob@a.com/r1>alice@a.com")
	// Bob is not asked: the server approved for him.
	expect(t, "bob", b.TakeSummaries(), "push alice@a.com from")

	// Cancelling a pre-approval with unsubscribed routes nothing.
	c := online(h, "carol@a.com/r1")
	c.Send(`<presence to='alice@a.com' type='subscribed'/>`)
	c.Send(`<presence to='alice@a.com' type='unsubscribed'/>`)
	expect(t, "carol", c.TakeSummaries(), "push alice@a.com none approved", "push alice@a.com none")
	expect(t, "alice", a.TakeSummaries())
}

func TestPendingRequestWaitsForAvailability(t *testing.T) {
	h, _ := setup(t, nil)
	a := online(h, "alice@a.com/r1")
	a.Send(`<presence to='bob@a.com' type='subscribe'/>`)
	a.Take()
	// Bob was offline. Connected but not available, he is not asked yet, nor does the
	// request show in his roster (None + Pending In is hidden).
	b := h.Login("bob@a.com/r1")
	if got := get(t, b, "-"); got != "" {
		t.Fatalf("bob's roster: %q", got)
	}
	b.Send(`<presence/>`)
	got := b.TakeSummaries()
	if !slices.Contains(got, "presence/subscribe alice@a.com>bob@a.com") {
		t.Fatalf("request not delivered on availability: %v", got)
	}
	// Offered again on every login until answered.
	b.Logout(module.Close{})
	online(h, "bob@a.com/r2") // another resource, available first
	b = h.Login("bob@a.com/r3")
	b.Send(`<presence/>`)
	if got := b.TakeSummaries(); !slices.Contains(got, "presence/subscribe alice@a.com>bob@a.com") {
		t.Fatalf("request not redelivered: %v", got)
	}
	// Denied: alice is told, and nothing of the request is left.
	b.Send(`<presence to='alice@a.com' type='unsubscribed'/>`)
	expect(t, "alice", a.TakeSummaries(), "push bob@a.com none", "presence/unsubscribed bob@a.com>alice@a.com")
	if it := item(t, h, "bob", "alice@a.com"); it.Ver != 0 {
		t.Errorf("denied request left %+v", it)
	}
}

func TestSubscriptionToNobodyIsIgnored(t *testing.T) {
	h, _ := setup(t, nil)
	a := online(h, "alice@a.com/r1")
	writes := h.Store.Writes.Load()
	a.Send(`<presence to='ghost@a.com' type='subscribe'/>`)
	// Alice's own roster records her request; nothing answers, nothing is stored for
	// the missing account (RFC 6121 8.5.1).
	expect(t, "alice", a.TakeSummaries(), "push ghost@a.com none ask=subscribe")
	if n := h.Store.Writes.Load() - writes; n != 1 {
		t.Errorf("%d writes, want alice's only", n)
	}
}

func TestRemoveCancelsBothWays(t *testing.T) {
	h, svc := setup(t, nil)
	a := online(h, "alice@a.com/r1")
	b := online(h, "bob@a.com/r1")
	if err := svc.Connect(context.Background(), jid.MustParse("alice@a.com"), jid.MustParse("bob@a.com")); err != nil {
		t.Fatal(err)
	}
	a.Take()
	b.Take()
	a.Send(`<iq type='set' id='rm'><query xmlns='jabber:iq:roster'><item jid='bob@a.com' subscription='remove'/></query></iq>`)
	expect(t, "alice", a.TakeSummaries(), "push bob@a.com remove", "presence/unavailable bob@a.com/r1>alice@a.com", "iq/result")
	expect(t, "bob", b.TakeSummaries(),
		"push alice@a.com to", "presence/unsubscribe alice@a.com>bob@a.com",
		"push alice@a.com none", "presence/unsubscribed alice@a.com>bob@a.com",
		"presence/unavailable alice@a.com/r1>bob@a.com")
}

func TestAdminOperations(t *testing.T) {
	h, svc := setup(t, nil)
	ctx := context.Background()
	alice, carol := jid.MustParse("alice@a.com"), jid.MustParse("carol@a.com")
	c := online(h, "carol@a.com/r1")
	if err := svc.Connect(ctx, alice, carol); err != nil {
		t.Fatal(err)
	}
	got, err := svc.ListContacts(alice)
	if err != nil || len(got) != 1 || got[0] != (roster.Contact{JID: "carol@a.com", Subscription: "both", Ask: "none"}) {
		t.Fatalf("alice's contacts: %+v %v", got, err)
	}
	if !slices.Contains(c.TakeSummaries(), "push alice@a.com both") {
		t.Error("carol's session saw no push to both")
	}
	// A pending request is listed too, with MongooseIM's ask values.
	if err := svc.Subscription(ctx, jid.MustParse("bob@a.com"), alice, "subscribe"); err != nil {
		t.Fatal(err)
	}
	got, _ = svc.ListContacts(alice)
	if len(got) != 2 || got[0] != (roster.Contact{JID: "bob@a.com", Subscription: "none", Ask: "in"}) {
		t.Errorf("alice's contacts with bob's request: %+v", got)
	}
	if got, _ := svc.ListContacts(jid.MustParse("bob@a.com")); len(got) != 1 || got[0].Ask != "out" {
		t.Errorf("bob's contacts: %+v", got)
	}

	var unf *roster.UserNotFoundError
	if err := svc.AddContact(ctx, alice, jid.MustParse("ghost@a.com"), "", nil); !errors.As(err, &unf) || err.Error() != "The user ghost@a.com does not exist" {
		t.Errorf("add a missing contact: %v", err)
	}
	if _, err := svc.ListContacts(jid.MustParse("x@nowhere.com")); !errors.Is(err, roster.ErrUnknownDomain) {
		t.Errorf("unknown domain: %v", err)
	}
	if err := svc.Subscription(ctx, alice, carol, "accept"); !errors.Is(err, roster.ErrBadAction) {
		t.Errorf("bad action: %v", err)
	}
	var cnf *roster.ContactNotFoundError
	if err := svc.DeleteContact(ctx, alice, jid.MustParse("nobody@a.com")); !errors.As(err, &cnf) ||
		err.Error() != "Cannot remove nobody@a.com contact that does not exist" {
		t.Errorf("delete a missing contact: %v", err)
	}
	if err := svc.Disconnect(ctx, alice, carol); err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.ListContacts(carol); len(got) != 0 {
		t.Errorf("carol's contacts after disconnect: %+v", got)
	}
	// User removal empties the roster and tells the contacts.
	if err := svc.RemoveUser(ctx, "a.com", "bob"); err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.ListContacts(alice); len(got) != 0 {
		t.Errorf("alice still lists %+v after bob's removal", got)
	}
}

func TestModuleOffForHostType(t *testing.T) {
	h, _ := setup(t, nil)
	d := h.Login("dave@off.com/r1")
	d.Send(`<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>`)
	expect(t, "dave", d.TakeSummaries(), "error iq/service-unavailable")
	features := func(s *moduletest.Session, domain string) []string {
		s.Send(`<iq type='get' id='d' to='` + domain + `'><query xmlns='` + stanza.NSDiscoInf + `'/></iq>`)
		got := s.Take()
		var out []string
		for _, f := range got[0].Child(stanza.NSDiscoInf, "query").ChildrenNamed(stanza.NSDiscoInf, "feature") {
			out = append(out, f.Attr("var"))
		}
		return out
	}
	if fs := features(d, "off.com"); slices.Contains(fs, roster.NS) {
		t.Errorf("off.com advertises the roster: %v", fs)
	}
	if fs := features(h.Login("alice@a.com/r1"), "a.com"); !slices.Contains(fs, roster.NS) {
		t.Errorf("a.com does not advertise the roster: %v", fs)
	}
	// Without mod_roster, subscription stanzas still travel, from the bare JID.
	a := online(h, "alice@a.com/r2")
	d.Send(`<presence to='alice@a.com/r2' type='subscribe'/>`)
	expect(t, "alice", a.TakeSummaries(), "presence/subscribe dave@off.com>alice@a.com")
	expect(t, "dave", d.TakeSummaries())
}
