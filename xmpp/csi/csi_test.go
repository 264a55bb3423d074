package csi_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/carbons"
	"github.com/mongoose-go/mongoose-go/xmpp/csi"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/router/routertest"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func nonza(t *testing.T, h *moduletest.Harness, s *moduletest.Session, name string) {
	t.Helper()
	handled, err := h.Host.Nonza(s, routertest.Parse(t, `<`+name+` xmlns='urn:xmpp:csi:0'/>`))
	if !handled || err != nil {
		t.Fatalf("<%s/>: handled %v, %v", name, handled, err)
	}
}

// Many deliverers at once, while the client flips between active and inactive:
// everything arrives, once, and each sender's stanzas in the order it sent them.
func TestConcurrentDeliveriesKeepOrder(t *testing.T) {
	h := moduletest.New(t, map[string]string{"a.com": "basic"})
	h.Start("basic", csi.Module, moduletest.Options{"buffer_max": 5})
	s := h.Login("bob@a.com/r")
	nonza(t, h, s, "inactive")
	const senders, each = 8, 300
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				raw := fmt.Sprintf(`<presence from='u%d@a.com/r' to='bob@a.com/r' id='%d-%d'/>`, g, g, i)
				if i%7 == 0 {
					raw = fmt.Sprintf(`<message from='u%d@a.com/r' to='bob@a.com/r' id='%d-%d'><body>x</body></message>`, g, g, i)
				}
				s.Deliver(routertest.Parse(t, raw))
			}
		}()
	}
	for i := range 200 {
		nonza(t, h, s, []string{"active", "inactive"}[i%2])
	}
	wg.Wait()
	nonza(t, h, s, "active")
	next := make([]int, senders)
	got := s.Take()
	for _, el := range got {
		g, i, _ := strings.Cut(el.Attr("id"), "-")
		gi, _ := strconv.Atoi(g)
		ii, _ := strconv.Atoi(i)
		if ii != next[gi] {
			t.Fatalf("sender %d: got %d, want %d", gi, ii, next[gi])
		}
		next[gi]++
	}
	if len(got) != senders*each {
		t.Fatalf("received %d of %d", len(got), senders*each)
	}
}

// Without <inactive/> nothing is held; with it, non-urgent stanzas wait for an urgent
// one, which comes last.
func TestBuffering(t *testing.T) {
	h := moduletest.New(t, map[string]string{"a.com": "basic"})
	h.Start("basic", csi.Module, nil)
	s := h.Login("bob@a.com/r")
	deliver := func(raw string) { s.Deliver(routertest.Parse(t, raw)) }
	deliver(`<presence from='a@a.com/r' to='bob@a.com/r'/>`)
	if n := len(s.Take()); n != 1 {
		t.Fatalf("active session got %d", n)
	}
	nonza(t, h, s, "inactive")
	for range 19 {
		deliver(`<message from='a@a.com/r' to='bob@a.com/r' type='chat'><active xmlns='http://jabber.org/protocol/chatstates'/></message>`)
	}
	if n := len(s.Take()); n != 0 {
		t.Fatalf("inactive session got %d", n)
	}
	deliver(`<iq from='a@a.com/r' to='bob@a.com/r' type='get' id='q'><ping xmlns='urn:xmpp:ping'/></iq>`)
	got := s.Take()
	if len(got) != 20 || got[19].Local != "iq" {
		t.Fatalf("flush: %v", moduletest.Summaries(got))
	}
	// buffer_max 20 (the default): the 20th held stanza flushes.
	for range 20 {
		deliver(`<presence from='a@a.com/r' to='bob@a.com/r'/>`)
	}
	if n := len(s.Take()); n != 20 {
		t.Fatalf("full buffer flushed %d", n)
	}
}

// Two inactive sessions of one user with carbons enabled flush at the same time, each
// sending the other carbons (which flush it in turn): no deadlock, nothing lost.
func TestFlushWithCarbonsBothWays(t *testing.T) {
	h := moduletest.New(t, map[string]string{"a.com": "basic"})
	h.Start("basic", csi.Module, moduletest.Options{"buffer_max": 3})
	h.Start("basic", carbons.Module, nil)
	h.AddUser("a.com", "bob")
	h.AddUser("a.com", "alice")
	r1, r2 := h.Login("bob@a.com/1"), h.Login("bob@a.com/2")
	for _, s := range []*moduletest.Session{r1, r2} {
		s.Send(`<iq type='set' id='c'><enable xmlns='urn:xmpp:carbons:2'/></iq>`)
		nonza(t, h, s, "inactive")
		s.Take()
	}
	const n = 200
	var wg sync.WaitGroup
	for _, to := range []string{"bob@a.com/1", "bob@a.com/2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				var el *xmlstream.Element
				if i%2 == 0 {
					el = routertest.Parse(t, `<message from='alice@a.com/x' to='`+to+`' type='chat'><body>hi</body></message>`)
				} else {
					el = routertest.Parse(t, `<message from='alice@a.com/x' to='`+to+`' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`)
				}
				if err := h.Router.Deliver(el); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// The copies of what a session holds back are made when it is written: activate
	// both before counting.
	nonza(t, h, r1, "active")
	nonza(t, h, r2, "active")
	for _, s := range []*moduletest.Session{r1, r2} {
		// Its own n messages and a carbon of each of the other's.
		if got := len(s.Take()); got != 2*n {
			t.Fatalf("%s got %d, want %d", s.JID(), got, 2*n)
		}
	}
}

// midFlush is a session into which another stanza arrives while CSI flushes its
// first urgent stanza, as a concurrent deliverer would make it arrive.
type midFlush struct {
	*moduletest.Session
	h         *moduletest.Harness
	arrive    *xmlstream.Element
	delivered []string
}

func (w *midFlush) Deliver(el *xmlstream.Element) bool {
	if el = w.h.Host.UserReceive(w, el); el == nil {
		return true
	}
	w.delivered = append(w.delivered, el.Local+"/"+el.Attr("id"))
	if a := w.arrive; a != nil {
		w.arrive = nil
		w.Deliver(a)
	}
	return true
}

// A stanza arriving while an urgent one is being flushed is held like any other
// (here: until the next urgent stanza), not written out with the flush: the client
// is still inactive.
func TestArrivalDuringFlushStaysHeld(t *testing.T) {
	h := moduletest.New(t, map[string]string{"a.com": "basic"})
	h.Start("basic", csi.Module, moduletest.Options{"buffer_max": 3})
	w := &midFlush{Session: h.Login("bob@a.com/r"), h: h}
	nonza(t, h, w.Session, "inactive")
	w.arrive = routertest.Parse(t, `<presence from='alice@a.com/r' to='bob@a.com/r' id='p1'/>`)
	w.Deliver(routertest.Parse(t, `<iq type='result' from='a.com' to='bob@a.com/r' id='q1'/>`))
	if got := strings.Join(w.delivered, " "); got != "iq/q1" {
		t.Fatalf("after the urgent IQ: %s, want iq/q1 alone", got)
	}
	w.Deliver(routertest.Parse(t, `<message from='alice@a.com/r' to='bob@a.com/r' id='m1'><body>x</body></message>`))
	if got := strings.Join(w.delivered, " "); got != "iq/q1 presence/p1 message/m1" {
		t.Fatalf("after the urgent message: %s", got)
	}
}
