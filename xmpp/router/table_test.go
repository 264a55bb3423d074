package router

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func TestBindLookupUnbind(t *testing.T) {
	r := newRouter(t, nil)
	a := newSession(t, "alice@example.com/phone")
	b := newSession(t, "alice@example.com/laptop")
	bind(t, r, a, b)
	if r.Count() != 2 {
		t.Fatalf("Count = %d", r.Count())
	}
	if s, ok := r.Lookup(jid.MustParse("alice@example.com/phone")); !ok || s != a {
		t.Fatalf("Lookup phone = %v %v", s, ok)
	}
	if _, ok := r.Lookup(jid.MustParse("alice@example.com/tablet")); ok {
		t.Fatal("Lookup of an unbound resource succeeded")
	}
	r.Unbind(a)
	if _, ok := r.Lookup(a.JID()); ok || r.Count() != 1 {
		t.Fatalf("after Unbind: found=%v count=%d", ok, r.Count())
	}
	r.Unbind(a) // twice: no effect
	r.Unbind(b)
	if r.Count() != 0 || r.Sessions("example.com", "alice") != nil {
		t.Fatalf("after unbinding all: count=%d sessions=%v", r.Count(), r.Sessions("example.com", "alice"))
	}
}

func TestBindRequiresFullJID(t *testing.T) {
	r := newRouter(t, nil)
	for _, s := range []string{"alice@example.com", "example.com/res"} {
		if err := r.Bind(newSession(t, s)); !errors.Is(err, ErrNotBound) {
			t.Errorf("Bind(%s) = %v, want ErrNotBound", s, err)
		}
	}
}

func TestBindReplacesSameResource(t *testing.T) {
	r := newRouter(t, nil)
	old := newSession(t, "alice@example.com/phone")
	other := newSession(t, "alice@example.com/laptop")
	bind(t, r, old, other)
	nu := newSession(t, "alice@example.com/phone")
	bind(t, r, nu)
	if got := old.Stops(); !slices.Equal(got, []stopCall{{Cond: "conflict", Text: "Replaced by new connection"}}) {
		t.Fatalf("old session stops = %v", got)
	}
	if len(other.Stops()) != 0 || len(nu.Stops()) != 0 {
		t.Fatal("another session was stopped")
	}
	if s, _ := r.Lookup(nu.JID()); s != nu || r.Count() != 2 {
		t.Fatalf("Lookup = %v, count = %d", s, r.Count())
	}
	// The replaced session unbinds as it goes away: the new one must stay.
	r.Unbind(old)
	if s, _ := r.Lookup(nu.JID()); s != nu || r.Count() != 2 {
		t.Fatalf("late Unbind of the replaced session removed its successor (count %d)", r.Count())
	}
	// Binding the same session again is a no-op, not a self-replacement.
	bind(t, r, nu)
	if len(nu.Stops()) != 0 || r.Count() != 2 {
		t.Fatalf("rebinding the same session: stops=%v count=%d", nu.Stops(), r.Count())
	}
}

func TestSessionLimit(t *testing.T) {
	t.Run("default 10", func(t *testing.T) {
		r := newRouter(t, nil)
		for i := range DefaultMaxSessions {
			bind(t, r, newSession(t, fmt.Sprintf("bob@example.com/r%d", i)))
		}
		if err := r.Bind(newSession(t, "bob@example.com/one-more")); !errors.Is(err, ErrTooManySessions) {
			t.Fatalf("11th Bind = %v", err)
		}
		// Replacing at the limit does not add a session, so it is allowed.
		bind(t, r, newSession(t, "bob@example.com/r3"))
		// Other users are not affected.
		bind(t, r, newSession(t, "carol@example.com/r"))
		if r.Count() != DefaultMaxSessions+1 {
			t.Fatalf("Count = %d", r.Count())
		}
	})
	t.Run("configured", func(t *testing.T) {
		r := newRouter(t, func(c *Config) { c.MaxSessions = 2 })
		bind(t, r, newSession(t, "bob@example.com/1"), newSession(t, "bob@example.com/2"))
		if err := r.Bind(newSession(t, "bob@example.com/3")); !errors.Is(err, ErrTooManySessions) {
			t.Fatalf("3rd Bind = %v", err)
		}
	})
	t.Run("per host type and user", func(t *testing.T) {
		var asked []string
		r := newRouter(t, func(c *Config) {
			c.SessionLimit = func(hostType string, user jid.JID) int {
				asked = append(asked, hostType+" "+user.String())
				if hostType == "t2" {
					return 1
				}
				return 0 // unlimited
			}
		})
		bind(t, r, newSession(t, "bob@other.org/1"))
		if err := r.Bind(newSession(t, "bob@other.org/2")); !errors.Is(err, ErrTooManySessions) {
			t.Fatalf("2nd Bind on t2 = %v", err)
		}
		for i := range 20 {
			bind(t, r, newSession(t, fmt.Sprintf("bob@example.com/%d", i)))
		}
		if asked[0] != "t2 bob@other.org" {
			t.Fatalf("SessionLimit asked %v", asked[0])
		}
	})
	t.Run("unlimited", func(t *testing.T) {
		r := newRouter(t, func(c *Config) { c.MaxSessions = -1 })
		for i := range 50 {
			bind(t, r, newSession(t, fmt.Sprintf("bob@example.com/%d", i)))
		}
	})
}

func TestCloseDomain(t *testing.T) {
	r := newRouter(t, nil)
	a1 := newSession(t, "alice@example.com/1")
	a2 := newSession(t, "alice@example.com/2")
	b := newSession(t, "bob@example.com/1")
	c := newSession(t, "carol@example.net/1")
	bind(t, r, a1, a2, b, c)
	if n := r.CloseDomain("Example.COM"); n != 3 {
		t.Fatalf("CloseDomain = %d, want 3", n)
	}
	for _, s := range []*fakeSession{a1, a2, b} {
		if got := s.Stops(); !slices.Equal(got, []stopCall{{Cond: "", Text: ""}}) {
			t.Errorf("%s stops = %v, want one close without stream error", s.JID(), got)
		}
	}
	if len(c.Stops()) != 0 {
		t.Error("session of another domain stopped")
	}
	if r.Count() != 1 || r.SessionsOfDomain("example.com") != nil {
		t.Fatalf("after CloseDomain: count %d, sessions %v", r.Count(), r.SessionsOfDomain("example.com"))
	}
	// The stopped sessions unbind as their goroutines end: no double count.
	r.Unbind(a1)
	r.Unbind(b)
	if r.Count() != 1 {
		t.Fatalf("Count after late Unbind = %d", r.Count())
	}
	if got := r.SessionsOfDomain("example.net"); len(got) != 1 || got[0] != c {
		t.Fatalf("SessionsOfDomain(example.net) = %v", got)
	}
}

func TestCloseUser(t *testing.T) {
	r := newRouter(t, nil)
	a1 := newSession(t, "alice@example.com/1")
	a2 := newSession(t, "alice@example.com/2")
	b := newSession(t, "bob@example.com/1")
	bind(t, r, a1, a2, b)
	if n := r.CloseUser("example.com", "Alice"); n != 2 {
		t.Fatalf("CloseUser = %d", n)
	}
	for _, s := range []*fakeSession{a1, a2} {
		if got := s.Stops(); !slices.Equal(got, []stopCall{{Cond: "conflict", Text: "User removed"}}) {
			t.Errorf("%s stops = %v", s.JID(), got)
		}
	}
	if len(b.Stops()) != 0 || r.Count() != 1 {
		t.Fatalf("bob stopped=%v count=%d", b.Stops(), r.Count())
	}
	if n := r.CloseUser("example.com", "nobody"); n != 0 {
		t.Fatalf("CloseUser(nobody) = %d", n)
	}
}

func TestSessionsAndEach(t *testing.T) {
	r := newRouter(t, nil)
	var all []Session
	for i := range 100 {
		s := newSession(t, fmt.Sprintf("u%d@example.com/r%d", i%40, i))
		all = append(all, s)
		bind(t, r, s)
	}
	if got := r.Sessions("EXAMPLE.com", "U3"); len(got) != 3 {
		t.Fatalf("Sessions(u3) = %d sessions, want 3", len(got))
	}
	if r.Sessions("example.com", "") != nil || r.Sessions("bad domain", "u1") != nil {
		t.Fatal("Sessions of an invalid address is not nil")
	}
	seen := map[Session]bool{}
	r.Each(func(s Session) bool { seen[s] = true; return true })
	if len(seen) != len(all) || r.Count() != len(all) {
		t.Fatalf("Each saw %d, Count %d, want %d", len(seen), r.Count(), len(all))
	}
	n := 0
	r.Each(func(Session) bool { n++; return n < 5 })
	if n != 5 {
		t.Fatalf("Each did not stop when fn returned false: %d calls", n)
	}
}

// The c2s package declares this interface; *Router must keep satisfying it.
var _ interface {
	Bind(Session) error
	Unbind(Session)
	Route(Session, *xmlstream.Element)
} = (*Router)(nil)

func TestNewRequiresDirectory(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without a Directory succeeded")
	}
}
