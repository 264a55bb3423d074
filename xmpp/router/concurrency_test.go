package router

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// TestConcurrentBindRouteUnbind hammers the table from many goroutines (run it with
// -race) and then checks the invariants: every delivered stanza was for the session
// that got it, replaced sessions were stopped, and once everything is unbound the
// table and its count are empty.
func TestConcurrentBindRouteUnbind(t *testing.T) {
	const (
		workers = 8
		rounds  = 300
		users   = 12
	)
	r := newRouter(t, func(c *Config) { c.MaxSessions = 3 })
	r.HandleIQ("", stanza.NSPing, ToBoth, func(_ context.Context, q *IQ) *xmlstream.Element { return q.Result(nil) })

	var mu sync.Mutex
	var all []*fakeSession
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			var mine []*fakeSession
			for i := range rounds {
				s := newSession(t, fmt.Sprintf("u%d@example.com/r%d", rng.IntN(users), rng.IntN(4)))
				mine = append(mine, s)
				if err := r.Bind(s); err != nil && !errors.Is(err, ErrTooManySessions) {
					t.Error(err)
					return
				}
				for range 4 {
					to := fmt.Sprintf("u%d@example.com", rng.IntN(users))
					if rng.IntN(2) == 0 {
						to += fmt.Sprintf("/r%d", rng.IntN(4))
					}
					el := xmlstream.NewElement(stanza.NSClient, "message",
						xmlstream.Attr{Local: "from", Value: s.JID().String()}, xmlstream.Attr{Local: "to", Value: to},
						xmlstream.Attr{Local: "type", Value: "chat"})
					r.Route(s, el)
				}
				ping := parse(t, pingIQ)
				ping.SetAttr("from", s.JID().String())
				r.Route(s, ping)
				if i%3 == 0 {
					r.Unbind(mine[rng.IntN(len(mine))])
				}
			}
			for _, s := range mine {
				r.Unbind(s)
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	var admin sync.WaitGroup
	admin.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = r.Count()
			r.Each(func(Session) bool { return true })
			_ = r.SessionsOfDomain("example.com")
			_ = r.Sessions("example.com", "u1")
			if i%50 == 0 {
				r.CloseUser("example.com", fmt.Sprintf("u%d", i%users))
			}
		}
	})
	wg.Wait()
	close(stop)
	admin.Wait()

	if r.Count() != 0 {
		t.Fatalf("Count = %d after every session unbound", r.Count())
	}
	for i := range r.shards {
		if n := len(r.shards[i].users); n != 0 {
			t.Fatalf("shard %d still holds %d users", i, n)
		}
	}
	delivered := 0
	for _, s := range all {
		for _, el := range s.Received() {
			delivered++
			to, err := jid.Parse(el.Attr("to"))
			if err != nil || to.Bare() != s.JID().Bare() {
				t.Fatalf("%s received a stanza for %q", s.JID(), el.Attr("to"))
			}
			if to.Resource() != "" && to != s.JID() && el.Attr("type") != "chat" {
				t.Fatalf("%s received a %s for another resource %s", s.JID(), el.Attr("type"), to)
			}
		}
		for _, st := range s.Stops() {
			if st.Cond != "conflict" {
				t.Fatalf("%s stopped with %q", s.JID(), st.Cond)
			}
		}
	}
	if delivered == 0 {
		t.Fatal("nothing was delivered")
	}
}
