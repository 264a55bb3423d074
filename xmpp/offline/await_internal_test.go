package offline

import (
	"context"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
)

// The owner waits for a message the asking node already has until its own store
// applies it, woken by the commit notification: with a bound of an hour, only the
// notification can end this wait before the test's deadline.
func TestAwaitSeqWakesOnApply(t *testing.T) {
	st := moduletest.NewStore(t)
	m := &mod{st: st}
	st.OnApplied(func(mu store.Mutation) {
		if _, ok := mu.(*store.StoreOffline); ok {
			m.queued.fire()
		}
	})
	bob := jid.MustParse("bob@a.com/r")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	add := func() {
		if _, err := st.Apply(ctx, &store.StoreOffline{Records: []store.OfflineRecord{{Domain: "a.com", User: "bob", XML: "<message/>"}}}); err != nil {
			t.Fatal(err)
		}
	}
	add()
	// Already here: no wait.
	m.awaitSeq(ctx, bob, m.lastSeq(bob), time.Hour)

	want := m.lastSeq(bob) + 1
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.awaitSeq(ctx, bob, want, time.Hour)
	}()
	// Apply only once the waiter holds the channel, so the wake-up is what ends
	// its wait (it takes the channel before it looks at the store).
	for waiting := false; !waiting; {
		m.queued.mu.Lock()
		waiting = m.queued.ch != nil
		m.queued.mu.Unlock()
		if ctx.Err() != nil {
			t.Fatal("the waiter never started waiting")
		}
		time.Sleep(time.Millisecond)
	}
	add()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("awaitSeq did not wake when the message was applied")
	}
	if got := m.lastSeq(bob); got != want {
		t.Fatalf("last seq %d, want %d", got, want)
	}
}
