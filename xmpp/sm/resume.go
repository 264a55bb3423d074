package sm

import (
	"strconv"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func itoa(n int) string { return strconv.Itoa(n) }

// lost keeps a resumable session bound when its connection broke.
func (m *mod) lost(s module.Session, end func()) bool {
	st := stateOf(s)
	if st == nil || st.id == "" {
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ended || st.stoppedBy || st.sess != s || st.handing != "" {
		return false
	}
	st.detached = true
	st.timer = time.AfterFunc(m.timeout, func() {
		st.mu.Lock()
		expired := st.detached && !st.ended && st.sess == s && st.handing == ""
		st.mu.Unlock()
		if expired {
			// Unbinds and runs the closed hooks, which re-route the buffer.
			end()
		}
	})
	return true
}

// closed ends stream management for a session that was not resumed: its
// unacknowledged stanzas are re-routed (XEP-0198 section 5).
func (m *mod) closed(s module.Session, _ module.Close) {
	st := stateOf(s)
	if st == nil {
		return
	}
	st.mu.Lock()
	if st.sess != s || st.ended {
		st.mu.Unlock()
		return
	}
	st.ended = true
	if st.timer != nil {
		st.timer.Stop()
	}
	buf := st.buf
	st.buf = nil
	st.mu.Unlock()
	if st.id != "" {
		m.mu.Lock()
		delete(m.ids, st.id)
		m.mu.Unlock()
	}
	// A session closed because its domain is being removed (or was, and perhaps
	// added again for a new tenant) bounces what it held: storing it offline would
	// outlive the tenant or hand it to the next one.
	m.reroute(buf, m.env.SameTenant(s))
}

// reroute treats unacknowledged stanzas as if they had been sent to an unavailable
// resource (XEP-0198 section 5, RFC 6121 section 8.5.3.2.1). A message goes to the
// account's other available resources, else to offline storage, else back to its
// sender as <service-unavailable/>. It does not pass the router's filters again: it
// passed them on its way in (mod_mam archived it then; a second pass would archive it
// twice).
func (m *mod) reroute(buf []*xmlstream.Element, keep bool) {
	r := m.env.Router()
	for _, el := range buf {
		if stanza.IsError(el) {
			continue
		}
		switch el.Local {
		case "message":
			m.rerouteMessage(el, keep)
		case "iq":
			if t := el.Attr("type"); t == "get" || t == "set" {
				_ = r.Deliver(stanza.ErrorReply(el, stanza.ServiceUnavailable, ""))
			}
		}
	}
}

func (m *mod) rerouteMessage(el *xmlstream.Element, keep bool) {
	to, err := jid.Parse(el.Attr("to"))
	if err != nil || to.Local() == "" {
		return
	}
	if keep && deliverToBest(m.env.Router().Sessions(to.Domain(), to.Local()), el) {
		return
	}
	switch el.Attr("type") {
	case "headline", "groupchat":
		// Dropped, as the router drops them for an account with no session.
		return
	}
	if keep && m.env.Host().Offline(m.env.HostType(), to.Bare(), el) {
		return
	}
	if el.Attr("from") != "" {
		_ = m.env.Router().Deliver(stanza.ErrorReply(el, stanza.ServiceUnavailable, ""))
	}
}

// deliverToBest delivers el to the available sessions of highest non-negative
// priority, as the router does for a bare JID.
func deliverToBest(ss []router.Session, el *xmlstream.Element) bool {
	best := -1
	prio := func(s router.Session) (int, bool) {
		if p, ok := s.(router.Prioritized); ok {
			return p.Priority()
		}
		return 0, true
	}
	for _, s := range ss {
		if p, ok := prio(s); ok && p > best {
			best = p
		}
	}
	n := 0
	for _, s := range ss {
		if p, ok := prio(s); ok && best >= 0 && p == best && s.Deliver(el) {
			n++
		}
	}
	return n > 0
}

// preBind handles <resume/> (and refuses an early <enable/>) after SASL, before bind.
func (m *mod) preBind(p module.PreBind, el *xmlstream.Element) error {
	if el.Local != "resume" {
		return p.Write(failed("unexpected-request"))
	}
	id := el.Attr("previd")
	h, hok := parseH(el)
	m.mu.Lock()
	st := m.ids[id]
	m.mu.Unlock()
	if st == nil && hok {
		// Perhaps held by another node (cluster.go).
		return m.resumeRemote(p, id, h)
	}
	// The id is bound to the account that enabled it: another user's id is as
	// unknown as a made-up one.
	if st == nil || !hok || st.owner.Local() != p.User || st.owner.Domain() != p.Domain {
		return p.Write(failed("item-not-found"))
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ended || st.stoppedBy || st.handing != "" {
		return p.Write(failed("item-not-found"))
	}
	if err := st.ackLocked(h); err != nil {
		return err
	}
	ns, err := p.Resume(st.sess)
	if err != nil {
		m.env.Logger().Debug("resume failed", "previd", id, "error", err)
		return p.Write(failed("item-not-found"))
	}
	if st.timer != nil {
		st.timer.Stop()
	}
	st.sess, st.detached = ns, false
	m.writeResumed(ns, st, id)
	return nil
}

// stop ends nothing: detached sessions die with the process; their timers are
// stopped so that none fires into a closed host.
func (m *mod) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, st := range m.ids {
		st.mu.Lock()
		if st.timer != nil {
			st.timer.Stop()
		}
		if st.handTimer != nil {
			st.handTimer.Stop()
		}
		st.mu.Unlock()
	}
	if cl := m.env.Cluster(); cl != nil {
		cl.Handle(m.service(), nil)
	}
}

// writeResumed answers a resumption on the session that took over: <resumed h
// previd/>, the unacknowledged stanzas again, and <r/> after them so the client
// says what it got. It is called with st.mu held.
func (m *mod) writeResumed(ns module.Session, st *state, id string) {
	write(ns, xmlstream.NewElement(NS, "resumed",
		xmlstream.Attr{Local: "h", Value: strconv.FormatUint(uint64(st.in), 10)},
		xmlstream.Attr{Local: "previd", Value: id}))
	for _, el := range st.buf {
		write(ns, el)
	}
	if len(st.buf) > 0 && m.ackFreq > 0 {
		write(ns, xmlstream.NewElement(NS, "r"))
	}
}
