package c2s

import (
	"errors"
	"fmt"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Stream management support (module.SessionKeeper): a bound session whose
// connection broke may stay bound ("detached") until a new stream of the same
// account resumes it or its module ends it.

var _ module.RawWriter = (*conn)(nil)

// ErrNotResumable is returned by PreBind.Resume for a session this stream may not
// take over (another account, another listener's kind of session, or a session that
// was already ended or taken over).
var ErrNotResumable = errors.New("c2s: session cannot be resumed by this stream")

// preBind describes the stream to the keeper hooks before bind.
func (c *conn) preBind() module.PreBind {
	return module.PreBind{Domain: c.domain, HostType: c.hostType, User: c.user,
		Write: c.writeElementNow, Resume: c.resume, Restore: c.restore}
}

// WriteRaw implements module.RawWriter: el is queued as is, without the
// user-receive chain, under the same bounds as Deliver.
func (c *conn) WriteRaw(el *xmlstream.Element) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	ok := c.enqueueLocked(el)
	c.mu.Unlock()
	if !ok {
		_ = c.raw.Close()
	}
	return ok
}

// resume makes this stream (authenticated, not bound) take over old: the same
// full JID, presence and module values. Binding replaces old in the router; old
// then neither unbinds nor runs SessionClosed (adopted).
func (c *conn) resume(old module.Session) (module.Session, error) {
	o, ok := old.(*conn)
	if !ok || o == c || c.bound || o.user != c.user || o.domain != c.domain || o.hostType != c.hostType {
		return nil, ErrNotResumable
	}
	if !o.adopted.CompareAndSwap(false, true) {
		return nil, ErrNotResumable
	}
	c.jid, c.jidStr, c.bareStr = o.jid, o.jidStr, o.bareStr
	c.managed = o.managed
	c.pres.Store(o.pres.Load())
	o.kvMu.Lock()
	for k, v := range o.kv {
		c.SetValue(k, v)
	}
	o.kvMu.Unlock()
	if err := c.l.cfg.Router.Bind(c); err != nil {
		o.adopted.Store(false)
		c.jid, c.jidStr, c.bareStr = jid.JID{}, "", ""
		return nil, fmt.Errorf("c2s: resume bind: %w", err)
	}
	c.bound = true
	c.setDeadline(time.Time{})
	return c, nil
}

// endDetached ends a session kept after its connection broke: it unbinds it and
// runs the SessionClosed hooks, once, unless a new stream took it over.
func (c *conn) endDetached() {
	c.endOnce.Do(func() {
		if !c.adopted.CompareAndSwap(false, true) {
			return
		}
		c.l.cfg.Router.Unbind(c)
		if c.mods != nil {
			c.mods.SessionClosed(c, module.Close{})
		}
	})
}
