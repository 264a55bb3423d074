package blocking_test

import (
	"slices"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/blocking"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
)

func harness(t testing.TB) (*moduletest.Harness, *moduletest.Session, *moduletest.Session) {
	h := moduletest.New(t, map[string]string{"a.com": "basic", "b.com": "basic"})
	h.Start("basic", blocking.Module, module.NoOptions{})
	h.AddUser("a.com", "alice")
	h.AddUser("b.com", "bob")
	return h, h.Login("alice@a.com/r1"), h.Login("bob@b.com/r1")
}

// TestMatching: each kind of item covers the addresses XEP-0191 section 3.4 says.
func TestMatching(t *testing.T) {
	for _, tc := range []struct {
		item    string
		blocked bool
	}{
		{"bob@b.com", true},
		{"bob@b.com/r1", true},
		{"bob@b.com/r2", false},
		{"b.com", true},
		{"b.com/r1", true},
		{"b.com/r2", false},
		{"carol@b.com", false},
		{"c.com", false},
	} {
		t.Run(tc.item, func(t *testing.T) {
			_, alice, bob := harness(t)
			alice.Send(`<iq type='set' id='b'><block xmlns='urn:xmpp:blocking'><item jid='` + tc.item + `'/></block></iq>`)
			if got := alice.TakeSummaries(); !slices.Equal(got, []string{"iq/result"}) {
				t.Fatalf("block: %v", got)
			}
			bob.Take() // alice's unavailable presence, for a blocked JID
			bob.Send(`<message to='alice@a.com/r1'><body>x</body></message>`)
			got := alice.TakeSummaries()
			back := bob.TakeSummaries()
			if tc.blocked {
				if len(got) != 0 || !slices.Equal(back, []string{"error message/service-unavailable"}) {
					t.Errorf("alice got %v, bob got %v", got, back)
				}
			} else if !slices.Equal(got, []string{"message/normal bob@b.com/r1>alice@a.com/r1 x"}) || len(back) != 0 {
				t.Errorf("alice got %v, bob got %v", got, back)
			}
		})
	}
}

// BenchmarkFilteredMessage: a message between two users of a host type running
// mod_blocking, neither blocking anyone (the common case: two block list look-ups).
func BenchmarkFilteredMessage(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "without"
		if on {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			h := moduletest.New(b, map[string]string{"a.com": "basic"})
			if on {
				h.Start("basic", blocking.Module, module.NoOptions{})
			}
			h.AddUser("a.com", "alice")
			h.AddUser("a.com", "bob")
			alice, bob := h.Login("alice@a.com/r1"), h.Login("bob@a.com/r1")
			bob.SetDiscard(true)
			b.ResetTimer()
			for range b.N {
				alice.Send(`<message to='bob@a.com/r1'><body>hi</body></message>`)
			}
		})
	}
}
