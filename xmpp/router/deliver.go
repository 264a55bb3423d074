package router

import (
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Error conditions, named once so the routing code reads as the RFC does.
var (
	badRequest           = stanza.BadRequest
	jidMalformed         = stanza.JIDMalformed
	remoteServerNotFound = stanza.RemoteServerNotFound
	serviceUnavailable   = stanza.ServiceUnavailable
)

// routeMessage applies RFC 6121 section 8.5 to a message for a local domain.
func (r *Router) routeMessage(o origin, to jid.JID, hostType string, el *xmlstream.Element) {
	if to.Local() == "" {
		// The server itself (or domain/resource) handles no messages yet.
		return
	}
	typ := el.Attr("type")
	if to.Resource() != "" {
		if s, ok := r.Lookup(to); ok && s.Deliver(el) {
			return
		}
		// RFC 6121 section 8.5.3.2.1: no such resource.
		switch typ {
		case "error":
			return
		case "groupchat":
			r.bounce(o, el, serviceUnavailable)
			return
		}
		// chat, normal, headline: as if sent to the bare JID.
	}
	if deliverToBest(r.entries(to.Bare()), el) > 0 {
		return
	}
	if typ == "error" {
		return
	}
	if r.exists(o, to) && r.cfg.Offline != nil && r.cfg.Offline(hostType, to, el) {
		return
	}
	switch typ {
	case "headline", "groupchat":
		// RFC 6121 section 8.5.2.2.1 (and 8.5.2.1.1 for groupchat): silently dropped.
	default:
		// chat, normal, and unknown types, which RFC 6121 section 5.2.2 says to treat
		// as normal. mod_offline's absence gives the same bounce in MongooseIM.
		r.bounce(o, el, serviceUnavailable)
	}
}

// routePresence delivers directed presence. It is never answered with an error
// (RFC 6121 section 8.5.2.2.2 and 8.5.3.2.2): presence must not reveal whether
// anyone is there.
func (r *Router) routePresence(to jid.JID, el *xmlstream.Element) {
	if to.Local() == "" {
		return
	}
	if to.Resource() != "" {
		if s, ok := r.Lookup(to); ok {
			s.Deliver(el)
		}
		return
	}
	for _, e := range r.entries(to) {
		if _, available := priorityOf(e.s); available {
			e.s.Deliver(el)
		}
	}
}

// deliverToBest hands a message for a bare JID to the available sessions with the
// highest non-negative priority (RFC 6121 section 8.5.2.1.1 leaves the choice
// between "highest" and "all non-negative"; MongooseIM picks highest). It returns
// how many sessions accepted it.
func deliverToBest(es []entry, el *xmlstream.Element) int {
	best := -1
	for _, e := range es {
		if p, available := priorityOf(e.s); available && p > best {
			best = p
		}
	}
	if best < 0 {
		return 0
	}
	n := 0
	for _, e := range es {
		if p, available := priorityOf(e.s); available && p == best && e.s.Deliver(el) {
			n++
		}
	}
	return n
}

func priorityOf(s Session) (int, bool) {
	if p, ok := s.(Prioritized); ok {
		return p.Priority()
	}
	return 0, true
}

// exists reports whether the account to may receive stanzas: always when no
// Accounts is configured or when it is the sender's own.
func (r *Router) exists(o origin, to jid.JID) bool {
	if r.cfg.Accounts == nil || to.Bare() == o.jid.Bare() {
		return true
	}
	return r.cfg.Accounts.UserExists(to.Domain(), to.Local())
}

// bounce answers el with a stanza error, unless el is an error itself (RFC 6120
// section 8.3.1: errors are never answered with errors).
func (r *Router) bounce(o origin, el *xmlstream.Element, c stanza.Condition) {
	if stanza.IsError(el) {
		return
	}
	r.reply(o, stanza.ErrorReply(el, c, ""))
}
