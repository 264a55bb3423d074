package module

import (
	"net"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// PreAuthStream describes a client stream that has not authenticated yet, as a
// pre-auth IQ hook sees it.
type PreAuthStream struct {
	// Domain is the stream's domain (the header's 'to'), prepared; HostType is its
	// host type.
	Domain, HostType string
	// RemoteAddr is the client's address (mod_register's ip_access and rate limit).
	RemoteAddr net.Addr
}

// PreAuthIQHook answers an IQ a client sends before authenticating: in-band
// registration (XEP-0077) is the one protocol that needs this. It returns the reply
// to write to the stream (a result or an error stanza).
type PreAuthIQHook func(st PreAuthStream, el *xmlstream.Element) *xmlstream.Element

// PreAuthIQHandler is implemented by *Host. It is a separate interface from
// ConnHooks so that a connection layer asks for it only where it supports it; c2s
// refuses every other stanza before authentication with <not-authorized/>.
type PreAuthIQHandler interface {
	// PreAuthIQ hands an <iq/> sent before authentication to the hook registered for
	// its payload's namespace; handled is false when there is none.
	PreAuthIQ(st PreAuthStream, el *xmlstream.Element) (reply *xmlstream.Element, handled bool)
}

var _ PreAuthIQHandler = (*Host)(nil)

// OnPreAuthIQ handles IQs with a payload in namespace ns that a client sends before
// authentication, on streams of the host type. Only a stream that is secure, or on a
// listener without TLS, reaches the hook (passwords are not to travel in clear where
// TLS is on offer); pre-auth stream features follow the same rule.
func (e *Env) OnPreAuthIQ(ns string, fn PreAuthIQHook) {
	e.check()
	if e.t.preauth == nil {
		e.t.preauth = map[string]PreAuthIQHook{}
	}
	e.t.preauth[ns] = fn
}

// PreAuthIQ implements PreAuthIQHandler. A hook that panics yields no reply but
// counts as handled, so the stream is not closed for the module's bug.
func (h *Host) PreAuthIQ(st PreAuthStream, el *xmlstream.Element) (reply *xmlstream.Element, handled bool) {
	t := h.table(st.HostType)
	if t == nil || len(t.preauth) == 0 {
		return nil, false
	}
	kids := el.Elements()
	if len(kids) == 0 {
		return nil, false
	}
	fn, ok := t.preauth[kids[0].Space]
	if !ok {
		return nil, false
	}
	h.safely("preauth_iq", func() { reply = fn(st, el) })
	return reply, true
}
