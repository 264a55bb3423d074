package c2s

import (
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

var _ router.Session = (*conn)(nil)

// JID is the session's full JID (router.Session).
func (c *conn) JID() jid.JID { return c.jid }

// HostType is the host type of the session's domain (router.Session).
func (c *conn) HostType() string { return c.hostType }

// Deliver queues a stanza for the client without blocking (router.Session).
// It is serialised at once, so the caller may reuse or change el afterwards.
// A client whose queue passes OutQueueLen or OutQueueBytes is disconnected.
func (c *conn) Deliver(el *xmlstream.Element) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	ok := c.enqueueLocked(el)
	c.mu.Unlock()
	if !ok {
		// Overflow: closing the socket ends the reading goroutine, which
		// unbinds, and fails a flusher stuck in Write.
		_ = c.raw.Close()
	}
	return ok
}

// Stop ends the session (router.Session): the stream error cond with text if
// cond is set, then </stream:stream>, and the connection closes. It returns at
// once; the reading goroutine unbinds and closes within CloseTimeout.
func (c *conn) Stop(cond xmlstream.Condition, text string) {
	c.mu.Lock()
	ok := c.closeWithLocked(cond, text)
	if ok {
		// Wake the reading goroutine parked in Read.
		_ = c.raw.SetReadDeadline(aLongTimeAgo)
	}
	c.mu.Unlock()
}

// handleStanza handles a stanza of a bound session: it checks and stamps the
// from address (RFC 6120 section 8.1.2.1), checks to, answers the legacy
// session IQ, and hands everything else to the router.
func (c *conn) handleStanza(el *xmlstream.Element) error {
	if !isStanza(el) {
		return streamErr(UnsupportedStanzaType, "")
	}
	switch from := el.Attr("from"); from {
	case "":
		el.SetAttr("from", c.jidStr)
	case c.jidStr, c.bareStr:
		// Already the session's full or bare JID, as prepared.
	default:
		j, err := jid.Parse(from)
		if err != nil || (j != c.jid && j != c.jid.Bare()) {
			return streamErr(InvalidFrom, "")
		}
		el.SetAttr("from", j.String())
	}
	to := el.Attr("to")
	if to != "" {
		if _, err := jid.Parse(to); err != nil {
			if !stanza.IsError(el) {
				r := stanza.ErrorReply(el, stanza.JIDMalformed, "")
				r.RemoveAttr("from")
				c.send(r)
			}
			return nil
		}
	}
	if el.Local == "iq" && (to == "" || to == c.domain) && el.Attr("type") == "set" {
		if el.Child(nsSession, "session") != nil {
			// RFC 3921 session establishment is a no-op since RFC 6121.
			c.send(stanza.Result(el, nil))
			return nil
		}
		if el.Child(nsBind, "bind") != nil {
			// RFC 6120 binds one resource per stream.
			c.send(stanza.ErrorReply(el, stanza.NotAllowed, "a resource is already bound"))
			return nil
		}
	}
	c.l.cfg.Router.Route(c, el)
	return nil
}
