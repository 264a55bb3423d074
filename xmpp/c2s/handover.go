package c2s

import (
	"fmt"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
)

// Stream resumption across nodes (module.Transferable, PreBind.Restore): the old
// node adopts its session and drops it once the new node has bound the same full
// JID; the new node's stream binds that JID from the state the old node sent.

var _ module.Transferable = (*conn)(nil)

// Adopt implements module.Transferable. It takes the same token as a local
// resumption, endDetached and finish, so exactly one of them ends the session.
func (c *conn) Adopt() bool {
	return c.bound && c.adopted.CompareAndSwap(false, true)
}

// Release implements module.Transferable.
func (c *conn) Release() {
	c.l.cfg.Router.Unbind(c)
	// A live connection is closed as a replaced one; a detached one has none (Stop
	// then ends nothing: the session is adopted).
	c.Stop(Conflict, router.ReplacedText)
}

// Abandon implements module.Transferable.
func (c *conn) Abandon() {
	c.l.cfg.Router.Unbind(c)
	if c.mods != nil {
		c.mods.SessionClosed(c, module.Close{})
	}
	c.Stop("", "")
}

// restore makes this stream (authenticated, not bound) the session that moved
// from another node, with its full JID and presence; st.Before puts the modules'
// state in before the bind, so nothing routed to the session misses it. A refused
// bind leaves the stream unbound and without any of that state.
func (c *conn) restore(st module.Restored) (module.Session, error) {
	j := st.JID
	if c.bound || j.Resource() == "" || j.Local() != c.user || j.Domain() != c.domain {
		return nil, ErrNotResumable
	}
	if c.l.cfg.Access != nil && !c.l.cfg.Access(c.hostType, j) {
		return nil, ErrNotResumable
	}
	c.jid, c.jidStr, c.bareStr = j, j.String(), j.Bare().String()
	c.managed = c.mods != nil && c.mods.ManagesPresence(c.hostType)
	if st.Presence != nil {
		c.pres.Store(&presence{el: st.Presence, priority: st.Priority})
	}
	if st.Before != nil {
		st.Before(c)
	}
	if err := c.l.cfg.Router.Bind(c); err != nil {
		c.jid, c.jidStr, c.bareStr = jid.JID{}, "", ""
		c.pres.Store(nil)
		c.kvMu.Lock()
		c.kv = nil
		c.kvMu.Unlock()
		return nil, fmt.Errorf("c2s: restore bind: %w", err)
	}
	c.bound = true
	c.setDeadline(time.Time{})
	return c, nil
}
