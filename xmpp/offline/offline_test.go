package offline_test

import (
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/offline"
	"github.com/mongoose-go/mongoose-go/xmpp/presence"
)

func queued(h *moduletest.Harness) int {
	n := 0
	h.Store.View(func(tx *bolt.Tx) error { n = store.OfflineCount(tx, "a.com", "bob"); return nil })
	return n
}

// What is stored: chat/normal with a body (or the <store/> hint), never headlines,
// errors or <no-store/>; groupchat only with store_groupchat_messages.
func TestWhatIsStored(t *testing.T) {
	for _, c := range []struct {
		name     string
		opts     moduletest.Options
		msg      string
		stored   bool
		toSender []string
	}{
		{"chat", nil, `<message to='bob@a.com' type='chat'><body>x</body></message>`, true, nil},
		{"normal", nil, `<message to='bob@a.com'><body>x</body></message>`, true, nil},
		{"no body", nil, `<message to='bob@a.com' type='chat'><gone xmlns='http://jabber.org/protocol/chatstates'/></message>`, false, []string{"error message/service-unavailable"}},
		{"store hint", nil, `<message to='bob@a.com' type='chat'><store xmlns='urn:xmpp:hints'/></message>`, true, nil},
		{"no-store hint", nil, `<message to='bob@a.com' type='chat'><body>x</body><no-store xmlns='urn:xmpp:hints'/></message>`, false, []string{"error message/service-unavailable"}},
		{"headline", nil, `<message to='bob@a.com' type='headline'><body>x</body></message>`, false, nil},
		{"groupchat", nil, `<message to='bob@a.com' type='groupchat'><body>x</body></message>`, false, nil},
		{"groupchat stored", moduletest.Options{"store_groupchat_messages": true}, `<message to='bob@a.com' type='groupchat'><body>x</body></message>`, true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := moduletest.New(t, map[string]string{"a.com": "basic"})
			h.Start("basic", presence.Module, nil)
			h.Start("basic", offline.Module(nil), c.opts)
			h.AddUser("a.com", "bob")
			h.AddUser("a.com", "alice")
			alice := h.Login("alice@a.com/r")
			alice.Send(c.msg)
			if got := queued(h) == 1; got != c.stored {
				t.Fatalf("stored %v", got)
			}
			if got := alice.TakeSummaries(); !slices.Equal(got, c.toSender) {
				t.Fatalf("sender got %q", got)
			}
		})
	}
}

// A session with a negative priority does not take the queue; one that becomes
// available with priority >= 0 does, and the queue is emptied.
func TestDeliveryNeedsNonNegativePriority(t *testing.T) {
	h := moduletest.New(t, map[string]string{"a.com": "basic"})
	h.Start("basic", presence.Module, nil)
	h.Start("basic", offline.Module(func(string, string, jid.JID) int { return 2 }), nil)
	h.AddUser("a.com", "bob")
	h.AddUser("a.com", "alice")
	alice := h.Login("alice@a.com/r")
	for _, b := range []string{"1", "2", "3"} {
		alice.Send(`<message to='bob@a.com' type='chat'><body>` + b + `</body></message>`)
	}
	if got := alice.TakeSummaries(); !slices.Equal(got, []string{"error message/resource-constraint"}) {
		t.Fatalf("sender got %q", got)
	}
	bob := h.Login("bob@a.com/r")
	bob.Send(`<presence><priority>-1</priority></presence>`)
	if got := bob.TakeSummaries(); !slices.Equal(got, []string{"presence/available bob@a.com/r>bob@a.com [-1]"}) {
		t.Fatalf("negative priority got %q", got)
	}
	bob.Send(`<presence/>`)
	got := bob.TakeSummaries()
	if !slices.Equal(got, []string{"message/chat alice@a.com/r>bob@a.com 1", "message/chat alice@a.com/r>bob@a.com 2", "presence/available bob@a.com/r>bob@a.com"}) {
		t.Fatalf("bob got %q", got)
	}
	if n := queued(h); n != 0 {
		t.Fatalf("%d left in the queue", n)
	}
}
