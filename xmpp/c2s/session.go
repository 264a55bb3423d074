package c2s

import (
	"net"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

var (
	_ router.Session     = (*conn)(nil)
	_ router.Prioritized = (*conn)(nil)
	_ module.Session     = (*conn)(nil)
)

// presence is a session's last broadcast presence, swapped as a whole so that the
// router reads priority and availability without a lock.
type presence struct {
	el       *xmlstream.Element
	priority int
}

// JID is the session's full JID (router.Session).
func (c *conn) JID() jid.JID { return c.jid }

// HostType is the host type of the session's domain (router.Session).
func (c *conn) HostType() string { return c.hostType }

// Deliver queues a stanza for the client without blocking (router.Session).
// It is serialised at once, so the caller may reuse or change el afterwards.
// A client whose queue passes OutQueueLen or OutQueueBytes is disconnected.
func (c *conn) Deliver(el *xmlstream.Element) bool {
	if c.mods != nil {
		if el = c.mods.UserReceive(c, el); el == nil {
			// A module took it (dropped or buffered): delivered, as far as the
			// router is concerned.
			return true
		}
	}
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
	if c.detached.Load() {
		// No connection to close: end the kept session (a no-op once resumed).
		go c.endDetached()
		return
	}
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
		if c.mods != nil {
			if handled, err := c.mods.Nonza(c, el); handled {
				return err
			}
		}
		return streamErr(UnsupportedStanzaType, "")
	}
	c.stanzasIn.Inc()
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
	if c.mods != nil && c.mods.UserSend(c, el) {
		return nil
	}
	c.l.cfg.Router.Route(c, el)
	return nil
}

// Priority implements router.Prioritized: without presence tracking every session is
// available with priority 0; with it, availability follows the last broadcast
// presence (RFC 6121 section 4.7.2.3).
func (c *conn) Priority() (int, bool) {
	if !c.managed {
		return 0, true
	}
	p := c.pres.Load()
	if p == nil {
		return 0, false
	}
	return p.priority, true
}

// Presence implements module.Session.
func (c *conn) Presence() *xmlstream.Element {
	if p := c.pres.Load(); p != nil {
		return p.el
	}
	return nil
}

// SetPresence implements module.Session.
func (c *conn) SetPresence(el *xmlstream.Element, priority int) {
	if el == nil {
		c.pres.Store(nil)
		return
	}
	c.pres.Store(&presence{el: el, priority: priority})
}

// Value implements module.Session.
func (c *conn) Value(key any) any {
	c.kvMu.Lock()
	defer c.kvMu.Unlock()
	return c.kv[key]
}

// SetValue implements module.Session.
func (c *conn) SetValue(key, value any) {
	c.kvMu.Lock()
	defer c.kvMu.Unlock()
	if value == nil {
		delete(c.kv, key)
		return
	}
	if c.kv == nil {
		c.kv = make(map[any]any, 2)
	}
	c.kv[key] = value
}

// RemoteAddr implements module.Session.
func (c *conn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }
