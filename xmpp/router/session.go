// Package router delivers stanzas between the client sessions of this node and the
// server's own handlers (RFC 6120 section 10, RFC 6121 section 8).
package router

import (
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Session is one bound client resource as the router sees it. The c2s package
// implements it; the router never blocks on one.
type Session interface {
	// JID is the session's full JID, fixed once bound.
	JID() jid.JID
	// HostType is the host type of the session's domain, fixed at stream start.
	HostType() string
	// Deliver queues a stanza for the client without blocking. It returns false when
	// the session is closed or its outgoing queue is full; a full queue makes the
	// session close itself, so a client that stops reading never stalls senders.
	Deliver(el *xmlstream.Element) bool
	// Stop ends the session: with a stream error when cond is non-empty (for example
	// conflict / "Replaced by new connection"), or by just closing the stream.
	Stop(cond xmlstream.Condition, text string)
}
