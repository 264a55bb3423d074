package mam

import (
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
)

func TestUserShaper(t *testing.T) {
	u := newUserShaper()
	now := time.Unix(0, 0)
	for i := range UserQueryBurst {
		if !u.allow("a", 1, now) {
			t.Fatalf("burst query %d refused", i)
		}
	}
	if u.allow("a", 1, now) {
		t.Fatal("query past the burst in the same instant allowed")
	}
	if !u.allow("b", 1, now) {
		t.Fatal("another user shaped")
	}
	if !u.allow("a", 1, now.Add(time.Second)) || u.allow("a", 1, now.Add(time.Second)) {
		t.Fatal("rate of one per second not applied")
	}
}

// TestShapingFromConfig: the rates come from the resolver per host type, user and
// action; a zero rate is not shaped; global shapers are shared by name.
func TestShapingFromConfig(t *testing.T) {
	s := newShapers()
	s.resolve = func(hostType string, user jid.JID, action string) (int, string, int) {
		switch {
		case user.Local() == "vip":
			return 0, "", 0 // not shaped
		case action == ActionGetPrefs:
			return 1, "tiny_global", 2
		}
		return 1, "big_global", 1000
	}
	now := time.Unix(0, 0)
	vip, alice, bob := jid.MustParse("vip@a.com"), jid.MustParse("alice@a.com/phone"), jid.MustParse("bob@a.com")
	for i := range 100 {
		if !s.allow("basic", vip, ActionLookup, now) {
			t.Fatalf("unshaped user refused at %d", i)
		}
	}
	// Full JIDs share their account's bucket; actions have their own.
	for i := range UserQueryBurst {
		if !s.allow("basic", alice, ActionLookup, now) {
			t.Fatalf("lookup %d refused", i)
		}
	}
	if s.allow("basic", alice.Bare(), ActionLookup, now) {
		t.Fatal("alice's bare JID did not share her bucket")
	}
	// The global shaper of get_prefs allows 2 in all, whoever asks.
	if !s.allow("basic", alice, ActionGetPrefs, now) || !s.allow("basic", bob, ActionGetPrefs, now) {
		t.Fatal("get_prefs refused within the global rate")
	}
	if s.allow("basic", bob, ActionGetPrefs, now) {
		t.Fatal("global shaper not shared between users")
	}
}
