package module

import "github.com/mongoose-go/mongoose-go/xmpp/xmlstream"

// Hooks for stream management (XEP-0198): a session that outlives its connection, a
// new stream that takes it over, and the counting of handled stanzas. c2s finds them
// through the SessionKeeper interface, which *Host implements, so that connection
// layers without them (and test fakes of ConnHooks) need not change.

// SessionKeeper is the optional part of ConnHooks a connection layer uses for stream
// management.
type SessionKeeper interface {
	// ConnectionLost is called on the session's goroutine when the connection of a
	// bound session broke without </stream:stream> (EOF, reset, write error). True
	// keeps the session bound with no connection ("detached"): the module that said
	// so must call end exactly once later, which unbinds the session and runs the
	// SessionClosed hooks, unless a new stream resumed it first (end is then a no-op).
	ConnectionLost(s Session, end func()) bool
	// PreBindNonza handles a non-stanza element sent after authentication and before
	// a resource is bound (<resume/>, an early <enable/>); handled is false when no
	// module takes its namespace.
	PreBindNonza(p PreBind, el *xmlstream.Element) (handled bool, err error)
	// StanzaHandled is called on the session's goroutine once a stanza the client
	// sent has been completely handled: the user-send chain returned (archiving
	// included) and the stanza was routed or answered.
	StanzaHandled(s Session)
}

// RawWriter is implemented by sessions that can queue an element for the client
// without the user-receive chain (stream management's <r/>, or stanzas it resends
// from its buffer). Write returns false when the connection is closing or its queue
// overflowed (which closes it).
type RawWriter interface {
	WriteRaw(el *xmlstream.Element) bool
}

// PreBind is an authenticated stream that has not bound a resource yet.
type PreBind struct {
	Domain, HostType, User string
	// Write writes el to the client and returns once it is written.
	Write func(el *xmlstream.Element) error
	// Resume makes this stream take over old, a session of the same account that is
	// detached or still bound: the stream binds old's full JID (replacing old
	// without a stream error and without its SessionClosed hooks), takes its presence
	// and values, and is returned as the session. No SessionOpened hooks run.
	Resume func(old Session) (Session, error)
	// Restore makes this stream take over a session that moved from another node:
	// it binds st.JID (the old node's copy is told to stop), takes the presence and
	// the portable values, and is returned as the session. No SessionOpened hooks
	// run. Nil when the connection layer cannot.
	Restore func(st Restored) (Session, error)
}

// Hook signatures of the keeper hooks.
type (
	// LostHook decides whether a session whose connection broke stays bound.
	LostHook func(s Session, end func()) bool
	// PreBindNonzaHook handles a non-stanza element before bind.
	PreBindNonzaHook func(p PreBind, el *xmlstream.Element) error
)

// OnConnectionLost registers fn for sessions whose connection broke; the first hook
// that returns true keeps the session.
func (e *Env) OnConnectionLost(fn LostHook) { e.check(); e.t.lost = append(e.t.lost, fn) }

// OnPreBindNonza handles top-level elements of namespace ns sent after
// authentication and before bind.
func (e *Env) OnPreBindNonza(ns string, fn PreBindNonzaHook) {
	e.check()
	if e.t.prebind == nil {
		e.t.prebind = map[string]PreBindNonzaHook{}
	}
	e.t.prebind[ns] = fn
}

// OnStanzaHandled runs fn after each stanza a session's client sent was handled.
func (e *Env) OnStanzaHandled(fn func(Session)) {
	e.check()
	e.t.handled = append(e.t.handled, fn)
}

var _ SessionKeeper = (*Host)(nil)

// ConnectionLost implements SessionKeeper.
func (h *Host) ConnectionLost(s Session, end func()) (keep bool) {
	t := h.table(s.HostType())
	if t == nil {
		return false
	}
	for _, fn := range t.lost {
		h.safely("connection_lost", func() { keep = fn(s, end) })
		if keep {
			return true
		}
	}
	return false
}

// PreBindNonza implements SessionKeeper.
func (h *Host) PreBindNonza(p PreBind, el *xmlstream.Element) (handled bool, err error) {
	t := h.table(p.HostType)
	if t == nil {
		return false, nil
	}
	fn := t.prebind[el.Space]
	if fn == nil {
		return false, nil
	}
	h.safely("prebind_nonza", func() { err = fn(p, el) })
	return true, err
}

// StanzaHandled implements SessionKeeper. Work that user-send hooks deferred with
// Env.BeforeHandled completes first, so a stanza never counts as handled before it.
func (h *Host) StanzaHandled(s Session) {
	if p, _ := s.Value(pendingKey{}).(*[]func()); p != nil && len(*p) > 0 {
		for _, wait := range *p {
			h.safely("before_handled", wait)
		}
		clear(*p)
		*p = (*p)[:0]
	}
	t := h.table(s.HostType())
	if t == nil {
		return
	}
	for _, fn := range t.handled {
		h.safely("stanza_handled", func() { fn(s) })
	}
}
