package router

import (
	"slices"
	"sync"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// fakeRemote is a cluster of other nodes as a table the test fills, recording what
// the router asks of it.
type fakeRemote struct {
	mu       sync.Mutex
	sessions []RemoteSession
	routed   []sent
	direct   []sent
	stops    []sent
	bound    map[jid.JID]Session
	changes  []RemoteSession
	refuse   bool
}

type sent struct {
	node string
	to   jid.JID
	el   *xmlstream.Element
	cond xmlstream.Condition
}

func newFakeRemote() *fakeRemote { return &fakeRemote{bound: map[jid.JID]Session{}} }

func (f *fakeRemote) add(node, full string, prio int, avail bool) {
	j := jid.MustParse(full)
	f.sessions = append(f.sessions, RemoteSession{Node: node, JID: j, HostType: "t1", Priority: prio, Available: avail})
}

func (f *fakeRemote) Sessions(bare jid.JID) []RemoteSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []RemoteSession
	for _, s := range f.sessions {
		if s.JID.Bare() == bare {
			out = append(out, s)
		}
	}
	return out
}

func (f *fakeRemote) SessionsOfDomain(domain string) []RemoteSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []RemoteSession
	for _, s := range f.sessions {
		if s.JID.Domain() == domain {
			out = append(out, s)
		}
	}
	return out
}

func (f *fakeRemote) Route(node string, el *xmlstream.Element) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routed = append(f.routed, sent{node: node, el: el})
	return !f.refuse
}

func (f *fakeRemote) Deliver(node string, full jid.JID, el *xmlstream.Element) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.direct = append(f.direct, sent{node: node, to: full, el: el})
	return true
}

func (f *fakeRemote) Stop(node string, full jid.JID, cond xmlstream.Condition, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stops = append(f.stops, sent{node: node, to: full, cond: cond})
}

func (f *fakeRemote) Bound(s Session, prio int, avail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bound[s.JID()] = s
	f.changes = append(f.changes, RemoteSession{JID: s.JID(), Priority: prio, Available: avail})
}

func (f *fakeRemote) Changed(s Session, prio int, avail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bound[s.JID()] == s {
		f.changes = append(f.changes, RemoteSession{JID: s.JID(), Priority: prio, Available: avail})
	}
}

func (f *fakeRemote) Unbound(s Session) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bound[s.JID()] == s {
		delete(f.bound, s.JID())
	}
}

func (f *fakeRemote) routedTo() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.routed {
		out = append(out, s.node)
	}
	slices.Sort(out)
	return out
}

func remoteRouter(t *testing.T, f *fakeRemote, mod func(*Config)) *Router {
	return newRouter(t, func(c *Config) {
		c.Remote = f
		if mod != nil {
			mod(c)
		}
	})
}

// A stanza for a full JID bound on another node goes there before any filter runs
// here; the other node's filters decide.
func TestRemoteFullJIDIsForwardedBeforeFilters(t *testing.T) {
	f := newFakeRemote()
	f.add("n2", "bob@example.com/phone", 0, true)
	filtered := 0
	r := remoteRouter(t, f, func(c *Config) {
		c.Filters = []Filter{func(string, jid.JID, jid.JID, *xmlstream.Element) (bool, *xmlstream.Element) {
			filtered++
			return false, nil
		}}
	})
	alice := newSession(t, "alice@example.com/pc")
	bind(t, r, alice)
	for _, s := range []string{
		`<message to="bob@example.com/phone" type="chat"><body>hi</body></message>`,
		`<presence to="bob@example.com/phone"/>`,
		`<iq to="bob@example.com/phone" type="get" id="1"><query xmlns="jabber:iq:version"/></iq>`,
	} {
		send(t, r, alice, s)
	}
	if got := f.routedTo(); !slices.Equal(got, []string{"n2", "n2", "n2"}) {
		t.Fatalf("routed to %v", got)
	}
	if filtered != 0 {
		t.Errorf("local filters ran %d times for remote recipients", filtered)
	}
	alice.None(t)
}

func (f *fakeRemote) directTo() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.direct {
		out = append(out, s.node+":"+s.to.Resource())
	}
	slices.Sort(out)
	return out
}

func (f *fakeRemote) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routed, f.direct, f.stops = nil, nil, nil
}

// A message to a bare JID reaches the available sessions with the highest priority
// across the cluster. When one of them is here, this node runs the filters once and
// hands the stanza to the remote ones as is; when none is, the node of one of them
// routes it (and runs the filters there).
func TestRemoteBareMessageFollowsPriorityAcrossNodes(t *testing.T) {
	f := newFakeRemote()
	f.add("n2", "bob@example.com/a", 5, true)
	f.add("n3", "bob@example.com/b", 1, true)
	f.add("n4", "bob@example.com/c", 9, false)
	f.add("n5", "bob@example.com/d", 5, true)
	filtered := 0
	r := remoteRouter(t, f, func(c *Config) {
		c.Filters = []Filter{func(string, jid.JID, jid.JID, *xmlstream.Element) (bool, *xmlstream.Element) {
			filtered++
			return false, nil
		}}
	})
	alice := newSession(t, "alice@example.com/pc")
	local := &prioSession{fakeSession: newSession(t, "bob@example.com/local"), prio: 5, available: true}
	low := &prioSession{fakeSession: newSession(t, "bob@example.com/low"), prio: 0, available: true}
	bind(t, r, alice, local, low)

	send(t, r, alice, `<message to="bob@example.com" type="chat"><body>1</body></message>`)
	if len(f.routed) != 0 || filtered != 1 {
		t.Fatalf("routed to %v, filters ran %d times", f.routedTo(), filtered)
	}
	if got := f.directTo(); !slices.Equal(got, []string{"n2:a", "n5:d"}) {
		t.Fatalf("handed to %v", got)
	}
	local.One(t)
	low.None(t)

	// The local best drops below the remote one: n2 routes it.
	local.prio = 2
	f.reset()
	send(t, r, alice, `<message to="bob@example.com" type="chat"><body>2</body></message>`)
	if got := f.routedTo(); !slices.Equal(got, []string{"n2"}) || len(f.direct) != 0 || filtered != 1 {
		t.Fatalf("routed to %v, handed to %v, filters ran %d times", got, f.directTo(), filtered)
	}
	if n := len(local.Received()); n != 1 {
		t.Fatalf("local session got %d messages, want only the first", n)
	}

	// A full JID bound nowhere falls back to the bare JID, cluster-wide.
	f.reset()
	send(t, r, alice, `<message to="bob@example.com/gone" type="chat"><body>3</body></message>`)
	if got := f.routedTo(); !slices.Equal(got, []string{"n2"}) {
		t.Fatalf("routed to %v, want n2", got)
	}

	// Arriving from n2, the same stanza is delivered from here to every chosen
	// session, wherever it is, and never routed again.
	f.reset()
	local.prio = 5
	in := parse(t, `<message from="alice@example.com/pc" to="bob@example.com" type="chat"><body>4</body></message>`)
	if err := r.RouteFromPeer(in); err != nil {
		t.Fatal(err)
	}
	if got := f.directTo(); len(f.routed) != 0 || !slices.Equal(got, []string{"n2:a", "n5:d"}) {
		t.Fatalf("routed to %v, handed to %v", f.routedTo(), got)
	}
}

// Directed presence to a bare JID goes to every available session; a node with none
// of them lets the node of one route it.
func TestRemoteBarePresenceReachesEveryNode(t *testing.T) {
	f := newFakeRemote()
	f.add("n2", "bob@example.com/a", 0, true)
	f.add("n2", "bob@example.com/b", 0, true)
	f.add("n3", "bob@example.com/c", -1, true)
	f.add("n4", "bob@example.com/d", 0, false)
	r := remoteRouter(t, f, nil)
	alice := newSession(t, "alice@example.com/pc")
	bind(t, r, alice)
	send(t, r, alice, `<presence to="bob@example.com"/>`)
	if got := f.routedTo(); !slices.Equal(got, []string{"n2"}) || len(f.direct) != 0 {
		t.Fatalf("routed to %v, handed to %v", got, f.directTo())
	}
	f.reset()
	local := newSession(t, "bob@example.com/local")
	bind(t, r, local)
	send(t, r, alice, `<presence to="bob@example.com"/>`)
	if got := f.directTo(); len(f.routed) != 0 || !slices.Equal(got, []string{"n2:a", "n2:b", "n3:c"}) {
		t.Fatalf("routed to %v, handed to %v", f.routedTo(), got)
	}
	local.One(t)
}

// A stanza forwarded by another node is only delivered here: a recipient that is
// gone is answered with an error that goes straight back to the sender's node.
func TestRouteFromPeerNeverForwardsAgainAndRepliesGoBack(t *testing.T) {
	f := newFakeRemote()
	f.add("n1", "alice@example.com/pc", 0, true)
	f.add("n3", "bob@example.com/elsewhere", 0, true)
	r := remoteRouter(t, f, nil)
	el := parse(t, `<iq from="alice@example.com/pc" to="bob@example.com/elsewhere" type="get" id="q"><ping xmlns="urn:xmpp:ping"/></iq>`)
	if err := r.RouteFromPeer(el); err != nil {
		t.Fatal(err)
	}
	if len(f.routed) != 0 {
		t.Fatalf("forwarded again: %v", f.routedTo())
	}
	if len(f.direct) != 1 || f.direct[0].node != "n1" || f.direct[0].to.String() != "alice@example.com/pc" {
		t.Fatalf("error reply went to %+v", f.direct)
	}
	wantError(t, f.direct[0].el, stanza.ServiceUnavailable, "bob@example.com/elsewhere", "alice@example.com/pc")

	bob := newSession(t, "bob@example.com/here")
	bind(t, r, bob)
	msg := parse(t, `<message from="alice@example.com/pc" to="bob@example.com/here" type="chat"><body>x</body></message>`)
	if err := r.RouteFromPeer(msg); err != nil {
		t.Fatal(err)
	}
	bob.One(t)
	if !r.DeliverFromPeer(jid.MustParse("bob@example.com/here"), msg) {
		t.Error("DeliverFromPeer refused a bound session")
	}
	if r.DeliverFromPeer(jid.MustParse("bob@example.com/nobody"), msg) {
		t.Error("DeliverFromPeer accepted an unbound JID")
	}
	if !r.StopFromPeer(jid.MustParse("bob@example.com/here"), condConflict, textReplaced) {
		t.Error("StopFromPeer found no session")
	}
	if st := bob.Stops(); len(st) != 1 || st[0].Cond != condConflict {
		t.Errorf("stops %v", st)
	}
}

// Binds are published; binding a full JID bound on another node stops it there; the
// session limit counts the other nodes' sessions; unbinding withdraws.
func TestRemoteBindPublishesKicksAndLimits(t *testing.T) {
	f := newFakeRemote()
	f.add("n2", "bob@example.com/phone", 0, true)
	f.add("n2", "bob@example.com/tablet", 0, true)
	r := remoteRouter(t, f, func(c *Config) { c.MaxSessions = 3 })

	phone := newSession(t, "bob@example.com/phone")
	bind(t, r, phone)
	if len(f.stops) != 1 || f.stops[0].node != "n2" || f.stops[0].to != phone.JID() || f.stops[0].cond != condConflict {
		t.Fatalf("stops %+v", f.stops)
	}
	if f.bound[phone.JID()] != phone {
		t.Fatal("bind not published")
	}
	// phone (replacing) + tablet remote + pc = 3.
	bind(t, r, newSession(t, "bob@example.com/pc"))
	if err := r.Bind(newSession(t, "bob@example.com/fourth")); err != ErrTooManySessions {
		t.Fatalf("fourth session: %v", err)
	}
	r.Unbind(phone)
	if _, ok := f.bound[phone.JID()]; ok {
		t.Fatal("unbind not withdrawn")
	}
}

// A broadcast presence republishes the sender's availability.
func TestPresenceBroadcastRepublishesAvailability(t *testing.T) {
	f := newFakeRemote()
	r := remoteRouter(t, f, func(c *Config) { c.Presence = func(Session, *xmlstream.Element) {} })
	s := &prioSession{fakeSession: newSession(t, "bob@example.com/a"), prio: 0, available: false}
	bind(t, r, s)
	s.prio, s.available = 7, true
	send(t, r, s, `<presence/>`)
	want := []RemoteSession{{JID: s.JID(), Priority: 0, Available: false}, {JID: s.JID(), Priority: 7, Available: true}}
	if !slices.Equal(f.changes, want) {
		t.Fatalf("published %+v", f.changes)
	}
}

// The admin view lists and kicks sessions cluster-wide.
func TestSessionsIncludeRemoteOnes(t *testing.T) {
	f := newFakeRemote()
	f.add("n2", "bob@example.com/phone", 0, true)
	f.add("n2", "carol@example.com/x", 0, true)
	r := remoteRouter(t, f, nil)
	bind(t, r, newSession(t, "bob@example.com/pc"))
	ss := r.Sessions("example.com", "bob")
	if len(ss) != 2 {
		t.Fatalf("sessions %v", ss)
	}
	if _, ok := NodeOf(ss[0]); ok {
		t.Error("local session reported remote")
	}
	node, ok := NodeOf(ss[1])
	if !ok || node != "n2" || ss[1].JID().String() != "bob@example.com/phone" {
		t.Fatalf("remote session %v on %q", ss[1].JID(), node)
	}
	ss[1].Stop("conflict", "kicked")
	if len(f.stops) != 1 || f.stops[0].node != "n2" {
		t.Fatalf("stop went to %+v", f.stops)
	}
	if n := len(r.SessionsOfDomain("example.com")); n != 3 {
		t.Fatalf("%d sessions in the domain, want 3", n)
	}
}
