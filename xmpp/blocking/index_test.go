package blocking_test

import (
	"context"
	"slices"
	"testing"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/blocking"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
)

// TestIndexFollowsTheStore: the in-memory block lists start from what the store
// already holds and follow writes that did not come through this module (another
// node's IQ, account removal, domain removal), as raft applies them.
func TestIndexFollowsTheStore(t *testing.T) {
	h := moduletest.New(t, map[string]string{"a.com": "basic", "b.com": "basic"})
	h.AddUser("a.com", "alice")
	h.AddUser("b.com", "bob")
	apply := func(m store.Mutation) {
		t.Helper()
		if _, err := h.Store.Apply(context.Background(), m); err != nil {
			t.Fatalf("%T: %v", m, err)
		}
	}
	// Written before the module starts, as on a node that restarts.
	apply(&store.SetBlocked{Domain: "a.com", User: "alice", Block: true, JIDs: []string{"bob@b.com"}, Static: true})
	h.Start("basic", blocking.Module, module.NoOptions{})
	alice, bob := h.Login("alice@a.com/r1"), h.Login("bob@b.com/r1")

	delivered := func() bool {
		t.Helper()
		bob.Send(`<message to='alice@a.com/r1'><body>x</body></message>`)
		got, back := alice.TakeSummaries(), bob.TakeSummaries()
		switch {
		case len(got) == 1 && len(back) == 0:
			return true
		case len(got) == 0 && slices.Equal(back, []string{"error message/service-unavailable"}):
			return false
		}
		t.Fatalf("alice got %v, bob got %v", got, back)
		return false
	}
	if delivered() {
		t.Fatal("a block list stored before start is not applied")
	}
	apply(&store.SetBlocked{Domain: "a.com", User: "alice", Block: false, Static: true})
	if !delivered() {
		t.Fatal("unblock-all written by another node is not applied")
	}
	apply(&store.SetBlocked{Domain: "a.com", User: "alice", Block: true, JIDs: []string{"b.com"}, Static: true})
	if delivered() {
		t.Fatal("a domain block written by another node is not applied")
	}
	apply(&store.RemoveUserData{Domain: "a.com", User: "alice"})
	if !delivered() {
		t.Fatal("the list of a removed account still filters")
	}
	apply(&store.SetBlocked{Domain: "a.com", User: "alice", Block: true, JIDs: []string{"bob@b.com"}, Static: true})
	h.Store.Reset() // a snapshot installed: the index reloads from the store
	if delivered() {
		t.Fatal("the list is lost after a reset")
	}
}
