package c2s

import (
	"errors"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// handlePreBind handles an element after SASL success and before a resource
// is bound: only the bind IQ is allowed (RFC 6120 section 7.1: stanzas sent
// before binding get <not-authorized/>).
func (c *conn) handlePreBind(el *xmlstream.Element) error {
	if !isStanza(el) {
		if c.keeper != nil {
			if handled, err := c.keeper.PreBindNonza(c.preBind(), el); handled {
				// After a <resume/> the stream is bound: it goes on with
				// the old session's state and without SessionOpened.
				return err
			}
		}
		return streamErr(UnsupportedStanzaType, "")
	}
	if el.Local == "iq" {
		if b := el.Child(nsBind, "bind"); b != nil {
			if err := c.bind(el, b); err != nil || !c.bound {
				return err
			}
			if c.mods != nil {
				c.mods.SessionOpened(c)
			}
			return nil
		}
	}
	return streamErr(NotAuthorized, "bind a resource first")
}

// bind handles the resource binding IQ (RFC 6120 section 7): the requested
// resourcepart, or a generated one if none is asked; an invalid one gets
// <bad-request/> (section 7.7.2.1). The router may refuse the session (too
// many resources), which the client sees as <resource-constraint/>; the
// listener's access rule may forbid it, which the client sees as
// <not-allowed/>.
func (c *conn) bind(iq, b *xmlstream.Element) error {
	if iq.Attr("type") != "set" {
		return c.writeElementNow(stanza.ErrorReply(iq, stanza.BadRequest, ""))
	}
	res := ""
	if r := b.Child(nsBind, "resource"); r != nil {
		res = r.Text()
	}
	if res == "" {
		res = newID()
	}
	j, err := jid.New(c.user, c.domain, res)
	if err != nil {
		if errors.Is(err, jid.ErrInvalidResource) {
			return c.writeElementNow(stanza.ErrorReply(iq, stanza.BadRequest, "invalid resourcepart"))
		}
		return c.writeElementNow(stanza.ErrorReply(iq, stanza.InternalServerError, ""))
	}
	if c.l.cfg.Access != nil && !c.l.cfg.Access(c.hostType, j) {
		c.l.cfg.Logger.Info("c2s: session forbidden by the listener's access rule", "jid", j.String())
		return c.writeElementNow(stanza.ErrorReply(iq, stanza.NotAllowed, ""))
	}
	c.jid, c.jidStr, c.bareStr = j, j.String(), j.Bare().String()
	// The router may deliver to the session as soon as Bind registers it;
	// hold that output so the bind result goes first.
	c.mu.Lock()
	c.hold = true
	c.mu.Unlock()
	c.managed = c.mods != nil && c.mods.ManagesPresence(c.hostType)
	if err := c.l.cfg.Router.Bind(c); err != nil {
		c.mu.Lock()
		c.hold = false
		c.mu.Unlock()
		c.l.cfg.Logger.Debug("c2s: bind refused", "jid", c.jidStr, "error", err)
		c.jid, c.jidStr, c.bareStr = jid.JID{}, "", ""
		return c.writeElementNow(stanza.ErrorReply(iq, stanza.ResourceConstraint, ""))
	}
	c.bound = true
	// Established: no more negotiation timeouts.
	c.setDeadline(time.Time{})
	payload := xmlstream.NewElement(nsBind, "bind")
	jel := xmlstream.NewElement(nsBind, "jid")
	jel.AddText(c.jidStr)
	payload.AddChild(jel)
	reply := stanza.Result(iq, payload)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return errClosing
	}
	// Put the result before anything delivered meanwhile.
	b2 := getBuf()
	*b2 = reply.AppendXML(*b2, nsClient)
	if c.out != nil {
		*b2 = append(*b2, *c.out...)
		putBuf(c.out)
	}
	c.out = b2
	c.outN++
	c.hold = false
	c.kickLocked()
	return nil
}
