package sm

import (
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// nonza handles <enable/>, <r/>, <a/> and a (too late) <resume/> on a bound stream.
func (m *mod) nonza(s module.Session, el *xmlstream.Element) error {
	st := stateOf(s)
	switch el.Local {
	case "enable":
		if st != nil {
			write(s, failed("unexpected-request"))
			return nil
		}
		m.enable(s, el)
		return nil
	case "r":
		if st == nil {
			write(s, failed("unexpected-request"))
			return nil
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		write(st.sess, ackEl(st.in))
		return nil
	case "a":
		if st == nil {
			write(s, failed("unexpected-request"))
			return nil
		}
		h, ok := parseH(el)
		if !ok {
			return &xmlstream.StreamError{Condition: "undefined-condition", Text: "h is not an unsigned 32-bit integer", Offset: -1}
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.ackLocked(h)
	default:
		// <resume/> after bind, or anything unknown.
		write(s, failed("unexpected-request"))
		return nil
	}
}

// enable starts stream management on s; counting starts after <enabled/>.
func (m *mod) enable(s module.Session, el *xmlstream.Element) {
	st := &state{sess: s, owner: s.JID()}
	reply := xmlstream.NewElement(NS, "enabled")
	if r := el.Attr("resume"); r == "true" || r == "1" {
		st.id = m.newID()
		reply.SetAttr("id", st.id)
		reply.SetAttr("resume", "true")
		reply.SetAttr("max", itoa(int(m.timeout.Seconds())))
		m.mu.Lock()
		m.ids[st.id] = st
		m.mu.Unlock()
	}
	// Written before the state is visible to the receive hook: nothing is
	// counted ahead of <enabled/>.
	st.mu.Lock()
	s.SetValue(key{}, st)
	write(s, reply)
	st.mu.Unlock()
}

// handled counts a stanza the client sent, once it was handled.
func (m *mod) handled(s module.Session) {
	if st := stateOf(s); st != nil {
		st.mu.Lock()
		if st.handing == "" && !st.ended {
			st.in++
		}
		st.mu.Unlock()
	}
}

// receive buffers and writes every stanza for an enabled session itself, so that
// the buffer and the wire are in the same order and the <r/> follows its stanza.
func (m *mod) receive(s module.Session, el *xmlstream.Element) *xmlstream.Element {
	st := stateOf(s)
	if st == nil || el.Space != stanza.NSClient {
		return el
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.movedTo != "" {
		// The session moved to another node after this stanza found it here: it
		// follows the ones handed over at the commit (cluster.go).
		if cl := m.env.Cluster(); cl != nil && cl.Deliver(st.movedTo, st.owner, el) {
			return nil
		}
		return el
	}
	if st.ended {
		// Unbound meanwhile: the router tries the next way to deliver it.
		return el
	}
	// el is shared and never changed by anyone: keeping it is safe.
	st.buf = append(st.buf, el)
	st.out++
	if m.bufferMax > 0 && len(st.buf) > m.bufferMax {
		if !st.stoppedBy {
			st.stoppedBy = true
			// The session ends; its closed hook re-routes the whole buffer.
			go st.sess.Stop("resource-constraint", TextTooMany)
		}
		return nil
	}
	if st.detached || st.stoppedBy {
		return nil
	}
	if write(st.sess, el) && m.ackFreq > 0 && st.out%uint32(m.ackFreq) == 0 {
		write(st.sess, xmlstream.NewElement(NS, "r"))
	}
	return nil
}
