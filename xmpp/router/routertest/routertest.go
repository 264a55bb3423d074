// Package routertest provides fakes for testing code that uses the router: a
// recording Session, a map Directory and a stanza parser. It does not import the
// router, so the router's own tests use it too.
package routertest

import (
	"bufio"
	"strings"
	"sync"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Directory maps served domains to their host types.
type Directory map[string]string

// HostTypeOf implements router.Directory.
func (d Directory) HostTypeOf(domain string) (string, bool) {
	ht, ok := d[domain]
	return ht, ok
}

// Accounts is a set of existing accounts, keyed "user@domain".
type Accounts map[string]bool

// UserExists implements router.Accounts.
func (a Accounts) UserExists(domain, user string) bool { return a[user+"@"+domain] }

// Stop is one call of Session.Stop.
type Stop struct {
	Cond xmlstream.Condition
	Text string
}

// Session is a router.Session that records what it is given. It is safe for
// concurrent use.
type Session struct {
	jid      jid.JID
	hostType string

	mu     sync.Mutex
	got    []*xmlstream.Element
	stops  []Stop
	refuse bool
}

// NewSession returns a session for a full JID, failing the test if it is invalid.
func NewSession(t testing.TB, full, hostType string) *Session {
	t.Helper()
	j, err := jid.Parse(full)
	if err != nil {
		t.Fatal(err)
	}
	return &Session{jid: j, hostType: hostType}
}

// JID implements router.Session.
func (s *Session) JID() jid.JID { return s.jid }

// HostType implements router.Session.
func (s *Session) HostType() string { return s.hostType }

// Deliver implements router.Session: it records el, or returns false after
// SetRefuse(true).
func (s *Session) Deliver(el *xmlstream.Element) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse {
		return false
	}
	s.got = append(s.got, el)
	return true
}

// Stop implements router.Session by recording the call.
func (s *Session) Stop(cond xmlstream.Condition, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stops = append(s.stops, Stop{cond, text})
}

// SetRefuse makes Deliver fail, as for a session whose queue is full or closed.
func (s *Session) SetRefuse(refuse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = refuse
}

// Received returns the stanzas delivered so far.
func (s *Session) Received() []*xmlstream.Element {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*xmlstream.Element(nil), s.got...)
}

// Stops returns the Stop calls so far.
func (s *Session) Stops() []Stop {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Stop(nil), s.stops...)
}

// One returns the only stanza received, failing the test otherwise.
func (s *Session) One(t testing.TB) *xmlstream.Element {
	t.Helper()
	got := s.Received()
	if len(got) != 1 {
		t.Fatalf("%s received %d stanzas, want 1: %v", s.jid, len(got), got)
	}
	return got[0]
}

// Last returns the last stanza received, failing the test if there is none.
func (s *Session) Last(t testing.TB) *xmlstream.Element {
	t.Helper()
	got := s.Received()
	if len(got) == 0 {
		t.Fatalf("%s received nothing", s.jid)
	}
	return got[len(got)-1]
}

// None fails the test if the session received anything.
func (s *Session) None(t testing.TB) {
	t.Helper()
	if got := s.Received(); len(got) != 0 {
		t.Fatalf("%s received %v, want nothing", s.jid, got)
	}
}

// Parse reads one stanza from s as the c2s parser delivers it (in a jabber:client
// stream), failing the test on error.
func Parse(t testing.TB, s string) *xmlstream.Element {
	t.Helper()
	in := `<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">` + s
	p := xmlstream.NewParser(bufio.NewReader(strings.NewReader(in)), xmlstream.Limits{})
	if _, err := p.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	el, err := p.Next()
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return el
}
