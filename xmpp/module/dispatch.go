package module

import (
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// The Host's side of the hook points: the connection layer calls the ConnHooks
// methods, the router the Filter, Presence and Offline methods (node/server wires them
// into router.Config).

var _ ConnHooks = (*Host)(nil)

// ManagesPresence implements ConnHooks.
func (h *Host) ManagesPresence(hostType string) bool {
	t := h.table(hostType)
	return t != nil && t.presence
}

// SessionOpened implements ConnHooks.
func (h *Host) SessionOpened(s Session) {
	if inc, ok := h.cfg.Directory.Incarnation(s.JID().Domain()); ok {
		s.SetValue(tenantKey{}, inc)
	}
	t := h.table(s.HostType())
	if t == nil {
		return
	}
	for _, fn := range t.opened {
		h.safely("session_opened", func() { fn(s) })
	}
}

// SessionClosed implements ConnHooks. Hooks run in reverse registration order, so a
// module's cleanup runs before that of the modules it was started after.
func (h *Host) SessionClosed(s Session, c Close) {
	t := h.table(s.HostType())
	if t == nil {
		return
	}
	for i := len(t.closed) - 1; i >= 0; i-- {
		h.safely("session_closed", func() { t.closed[i](s, c) })
	}
}

// UserSend implements ConnHooks. A hook that panics consumes the stanza.
func (h *Host) UserSend(s Session, el *xmlstream.Element) (consumed bool) {
	t := h.table(s.HostType())
	if t == nil || len(t.send) == 0 {
		return false
	}
	// A deferred literal rather than h.safely: no closure is allocated on this path.
	defer func() {
		if p := recover(); p != nil {
			h.logPanic("user_send", p)
			consumed = true
		}
	}()
	for _, e := range t.send {
		if e.fn(s, el) == Stop {
			return true
		}
	}
	return false
}

// UserReceive implements ConnHooks. A hook that panics drops the stanza.
func (h *Host) UserReceive(s Session, el *xmlstream.Element) (out *xmlstream.Element) {
	t := h.table(s.HostType())
	if t == nil || len(t.receive) == 0 {
		return el
	}
	defer func() {
		if p := recover(); p != nil {
			h.logPanic("user_receive", p)
			out = nil
		}
	}()
	for _, e := range t.receive {
		if el = e.fn(s, el); el == nil {
			return nil
		}
	}
	return el
}

// StreamFeatures implements ConnHooks.
func (h *Host) StreamFeatures(hostType string, stage Stage) []*xmlstream.Element {
	t := h.table(hostType)
	if t == nil {
		return nil
	}
	var out []*xmlstream.Element
	for _, fn := range t.features {
		h.safely("stream_features", func() { out = append(out, fn(stage)...) })
	}
	return out
}

// Nonza implements ConnHooks.
func (h *Host) Nonza(s Session, el *xmlstream.Element) (handled bool, err error) {
	t := h.table(s.HostType())
	if t == nil {
		return false, nil
	}
	fn, ok := t.nonza[el.Space]
	if !ok {
		return false, nil
	}
	h.safely("nonza", func() { err = fn(s, el) })
	return true, err
}

// Filter is a router.Filter running the OnIncoming chain of the recipient's host
// type. A hook that panics drops the stanza.
func (h *Host) Filter(hostType string, from, to jid.JID, el *xmlstream.Element) (drop bool, reply *xmlstream.Element) {
	t := h.table(hostType)
	if t == nil || len(t.incoming) == 0 {
		return false, nil
	}
	defer func() {
		if p := recover(); p != nil {
			h.logPanic("incoming", p)
			drop, reply = true, nil
		}
	}()
	for _, e := range t.incoming {
		if v, r := e.fn(from, to, el); v == Stop {
			return true, r
		}
	}
	return false, nil
}

// Presence is router.Config.Presence: it runs the OnPresence hooks of the sender's
// host type.
func (h *Host) Presence(from router.Session, el *xmlstream.Element) {
	s, ok := from.(Session)
	if !ok {
		return
	}
	t := h.table(s.HostType())
	if t == nil {
		return
	}
	for _, e := range t.presenceFns {
		h.safely("presence", func() { e.fn(s, el) })
	}
}

// Offline is router.Config.Offline: the first OnOffline hook that stores the message
// wins.
func (h *Host) Offline(hostType string, to jid.JID, el *xmlstream.Element) bool {
	t := h.table(hostType)
	if t == nil {
		return false
	}
	for _, e := range t.offline {
		stored := false
		h.safely("offline", func() { stored = e.fn(to, el) })
		if stored {
			return true
		}
	}
	return false
}

// SetPresence records a session's broadcast presence (nil: unavailable) and, when its
// availability or priority changed, runs the OnAvailability hooks of its host type.
func (h *Host) SetPresence(s Session, el *xmlstream.Element, priority int) {
	var before Availability
	before.Priority, before.Available = s.Priority()
	s.SetPresence(el, priority)
	var after Availability
	after.Priority, after.Available = s.Priority()
	if before == after {
		return
	}
	// The cluster routes bare-JID messages by every session's availability: tell it
	// (the router publishes to the other nodes; see router.SessionChanged).
	if sc, ok := h.cfg.Router.(interface{ SessionChanged(router.Session) }); ok {
		sc.SessionChanged(s)
	}
	t := h.table(s.HostType())
	if t == nil {
		return
	}
	for _, fn := range t.availability {
		h.safely("availability", func() { fn(s, before, after) })
	}
}
