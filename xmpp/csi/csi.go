// Package csi is mod_csi (XEP-0352, urn:xmpp:csi:0): a client that reports itself
// <inactive/> gets presence and other non-urgent stanzas (messages without a body,
// such as chat states) in bursts. They are held back, up to buffer_max, and written
// in their order when the buffer fills, when an urgent stanza (a message with a body,
// an IQ) arrives, which goes out after them, or when the client sends <active/>.
package csi

import (
	"math"
	"slices"
	"sync"

	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Name is the module's name in the configuration.
const Name = "mod_csi"

// NS is the namespace of the stream feature and the nonzas.
const NS = "urn:xmpp:csi:0"

// DefaultBufferMax is buffer_max's default, MongooseIM's.
const DefaultBufferMax = 20

// Module is mod_csi's definition. Option: buffer_max (default 20; "infinity" holds
// everything until an urgent stanza or <active/>).
var Module = module.Module{Name: Name, Start: start}

type stateKey struct{}

type mod struct{ max int }

func start(env *module.Env, opts module.Options) error {
	m := &mod{max: DefaultBufferMax}
	if opts.String("buffer_max", "") == "infinity" {
		m.max = math.MaxInt
	} else if n := opts.Int("buffer_max", DefaultBufferMax); n >= 0 {
		m.max = n
	}
	env.OnStreamFeatures(func(stage module.Stage) []*xmlstream.Element {
		if stage != module.StagePostAuth {
			return nil
		}
		return []*xmlstream.Element{xmlstream.NewElement(NS, "csi")}
	})
	env.OnNonza(NS, m.nonza)
	env.OnUserReceive(module.PrioLast, m.receive)
	env.PortableValue("csi.state", stateKey{}, encodeState, decodeState)
	return nil
}

// state is one session's CSI state. Deliverers on many goroutines use it, so it has
// its own lock; the lock is never held while a stanza is delivered, because
// delivering can run other sessions' hooks (carbons) and so take their locks.
type state struct {
	mu       sync.Mutex
	inactive bool
	// flushing: a goroutine is writing the buffer out; stanzas arriving meanwhile are
	// appended for it to write, so nothing overtakes what was held back.
	flushing bool
	buf      []*xmlstream.Element
	// replay counts the stanzas handed to Deliver by a flush, which come through
	// the receive chain a second time and must pass here. The hooks that run before
	// this one see them twice, so they must be filters that return the stanza they
	// were given (all of them do: blocking, roster, presence).
	replay map[*xmlstream.Element]int
}

func (m *mod) nonza(s module.Session, el *xmlstream.Element) error {
	st, _ := s.Value(stateKey{}).(*state)
	if st == nil {
		if el.Local != "inactive" {
			return nil
		}
		// Only the session's own goroutine runs nonzas: no race between Value and
		// SetValue.
		st = &state{replay: map[*xmlstream.Element]int{}}
		s.SetValue(stateKey{}, st)
	}
	st.mu.Lock()
	switch el.Local {
	case "inactive":
		st.inactive = true
	case "active":
		st.inactive = false
		if len(st.buf) > 0 && !st.flushing {
			st.drainLocked(s, m.max)
			return nil
		}
	}
	st.mu.Unlock()
	return nil
}

func (m *mod) receive(s module.Session, el *xmlstream.Element) *xmlstream.Element {
	st, _ := s.Value(stateKey{}).(*state)
	if st == nil {
		return el
	}
	st.mu.Lock()
	if n := st.replay[el]; n > 0 {
		if n == 1 {
			delete(st.replay, el)
		} else {
			st.replay[el] = n - 1
		}
		st.mu.Unlock()
		return el
	}
	if !st.inactive && !st.flushing {
		st.mu.Unlock()
		return el
	}
	st.buf = append(st.buf, el)
	if st.flushing || (!urgent(el) && len(st.buf) < m.max) {
		st.mu.Unlock()
		return nil
	}
	st.drainLocked(s, m.max)
	return nil
}

// drainLocked writes the buffer out in order. Stanzas that arrive meanwhile are
// appended for it, so none overtakes what was held back; once the buffer it took is
// written, it writes those too only if the client is active again or they would
// have been flushed anyway (one is urgent, or they fill the buffer): otherwise they
// stay held, as they would have had they come a moment later. It is called with
// st.mu held and returns with it released.
func (st *state) drainLocked(s module.Session, max int) {
	st.flushing = true
	for len(st.buf) > 0 {
		out := st.buf
		st.buf = nil
		for _, e := range out {
			st.replay[e]++
		}
		st.mu.Unlock()
		for _, e := range out {
			// A closing session refuses it; its replay marks go with it.
			s.Deliver(e)
		}
		st.mu.Lock()
		if st.inactive && len(st.buf) < max && !slices.ContainsFunc(st.buf, urgent) {
			break
		}
	}
	st.flushing = false
	st.mu.Unlock()
}

// urgent tells stanzas a client must see at once: IQs, and messages with a body
// (directly or in a forwarded carbon).
func urgent(el *xmlstream.Element) bool {
	switch el.Local {
	case "iq":
		return true
	case "message":
		if el.Child(stanza.NSClient, "body") != nil {
			return true
		}
		for _, c := range el.Elements() {
			if f := c.Child(nsForward, "forwarded"); f != nil {
				if msg := f.Child(stanza.NSClient, "message"); msg != nil && msg.Child(stanza.NSClient, "body") != nil {
					return true
				}
			}
		}
	}
	return false
}

const nsForward = "urn:xmpp:forward:0"
