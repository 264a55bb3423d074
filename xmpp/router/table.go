package router

import (
	"sync"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// shardCount spreads the session table over independently locked shards so that
// binds on different accounts do not contend, and routing (read locks only) does
// not wait for binds elsewhere.
const shardCount = 64

// entry is one bound resource. The resource is kept next to the session so a
// lookup does not call into the session.
type entry struct {
	res string
	s   Session
}

type shard struct {
	mu sync.RWMutex
	// users maps a bare JID to its sessions in bind order. The slices are
	// copy-on-write: a writer installs a new slice and never changes an old one, so a
	// reader may keep and iterate a slice after releasing the lock, without copying.
	users map[jid.JID][]entry
	// Keep shards on separate cache lines: RLock writes the mutex's reader count,
	// and neighbouring shards would otherwise bounce one line between cores.
	_ [32]byte
}

// shardOf hashes the bare JID (FNV-1a, inline so nothing is allocated).
func (r *Router) shardOf(bare jid.JID) *shard {
	const prime = 16777619
	h := uint32(2166136261)
	l, d := bare.Local(), bare.Domain()
	for i := 0; i < len(l); i++ {
		h = (h ^ uint32(l[i])) * prime
	}
	h = (h ^ '@') * prime
	for i := 0; i < len(d); i++ {
		h = (h ^ uint32(d[i])) * prime
	}
	return &r.shards[h%shardCount]
}

func (r *Router) limit(hostType string, bare jid.JID) int {
	if r.cfg.SessionLimit != nil {
		return r.cfg.SessionLimit(hostType, bare)
	}
	return r.cfg.MaxSessions
}

// Bind registers a session under its full JID. A session already bound to the same
// full JID is replaced and stopped with a <conflict/> stream error ("Replaced by new
// connection"). A new resource beyond the user's session limit is refused with
// ErrTooManySessions (a replacement never is: it does not add a session). Binding
// the same session twice is a no-op.
//
// With a Remote, both hold cluster-wide: the user's sessions on other nodes count
// towards the limit, and a session of the same full JID on another node is stopped
// there with the same <conflict/>.
func (r *Router) Bind(s Session) error {
	full := s.JID()
	if full.Resource() == "" || full.Local() == "" {
		return ErrNotBound
	}
	bare := full.Bare()
	limit := r.limit(s.HostType(), bare)
	sh := r.shardOf(bare)
	var replaced Session
	sh.mu.Lock()
	old := sh.users[bare]
	i := indexOf(old, full.Resource())
	switch {
	case i >= 0 && old[i].s == s:
		sh.mu.Unlock()
		return nil
	case i >= 0:
		replaced = old[i].s
		next := append(make([]entry, 0, len(old)), old[:i]...)
		next = append(next, old[i+1:]...)
		// The new session goes last: bind order is connection order.
		sh.users[bare] = append(next, entry{full.Resource(), s})
		r.publishBound(s)
	case limit > 0 && len(old)+r.remoteOthers(bare, full.Resource(), old) >= limit:
		sh.mu.Unlock()
		return ErrTooManySessions
	default:
		next := append(make([]entry, 0, len(old)+1), old...)
		sh.users[bare] = append(next, entry{full.Resource(), s})
		r.count.Add(1)
		r.m.Sessions.For(s.HostType()).Inc()
		r.publishBound(s)
	}
	sh.mu.Unlock()
	if replaced != nil {
		// Outside the lock: Stop belongs to another session and may take its time.
		replaced.Stop(condConflict, textReplaced)
	}
	r.kickRemote(full)
	return nil
}

// Unbind removes a session, but only if it is the one bound under its JID: a
// session replaced by a newer one may unbind late without removing its successor.
func (r *Router) Unbind(s Session) {
	full := s.JID()
	bare := full.Bare()
	sh := r.shardOf(bare)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	// Withdrawn even when CloseDomain or CloseUser already took s out of the table;
	// the Remote ignores a session it no longer publishes.
	r.publishUnbound(s)
	old := sh.users[bare]
	i := indexOf(old, full.Resource())
	if i < 0 || old[i].s != s {
		return
	}
	r.count.Add(-1)
	r.m.Sessions.For(s.HostType()).Dec()
	if len(old) == 1 {
		delete(sh.users, bare)
		return
	}
	next := append(make([]entry, 0, len(old)-1), old[:i]...)
	sh.users[bare] = append(next, old[i+1:]...)
}

func indexOf(es []entry, res string) int {
	for i := range es {
		if es[i].res == res {
			return i
		}
	}
	return -1
}

// localEntries returns the sessions of a bare JID bound on this node; the slice
// must not be modified. entries (remote.go) adds the other nodes'.
func (r *Router) localEntries(bare jid.JID) []entry {
	sh := r.shardOf(bare)
	sh.mu.RLock()
	es := sh.users[bare]
	sh.mu.RUnlock()
	return es
}

// Lookup returns the session bound to a full JID on this node.
func (r *Router) Lookup(full jid.JID) (Session, bool) {
	es := r.localEntries(full.Bare())
	if i := indexOf(es, full.Resource()); i >= 0 {
		return es[i].s, true
	}
	return nil, false
}

// Sessions returns the sessions of one user (nil if the address is invalid or the
// user has none). domain and user are prepared as JID parts first. With a Remote,
// the user's sessions on other nodes follow this node's (NodeOf tells them apart):
// their Deliver forwards as is and their Stop stops them on their node.
func (r *Router) Sessions(domain, user string) []Session {
	bare, err := jid.New(user, domain, "")
	if err != nil || user == "" {
		return nil
	}
	return sessionsOf(r.entries(bare))
}

// SessionsOfDomain returns every session of a domain, those on other nodes
// included (see Sessions). It scans the whole table: it is for administration, not
// for routing.
func (r *Router) SessionsOfDomain(domain string) []Session {
	d, err := jid.NormalizeDomain(domain)
	if err != nil {
		return nil
	}
	var out []Session
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		for bare, es := range sh.users {
			if bare.Domain() == d {
				out = append(out, sessionsOf(es)...)
			}
		}
		sh.mu.RUnlock()
	}
	if r.cfg.Remote != nil {
		out = append(out, r.wrapRemote(r.cfg.Remote.SessionsOfDomain(d))...)
	}
	return out
}

// Count returns the number of bound sessions.
func (r *Router) Count() int { return int(r.count.Load()) }

// Each calls fn for every bound session until fn returns false. Sessions bound or
// unbound meanwhile may or may not be seen. fn runs without router locks held, so
// it may call the router.
func (r *Router) Each(fn func(Session) bool) {
	var buf []Session
	for i := range r.shards {
		sh := &r.shards[i]
		buf = buf[:0]
		sh.mu.RLock()
		for _, es := range sh.users {
			for _, e := range es {
				buf = append(buf, e.s)
			}
		}
		sh.mu.RUnlock()
		for _, s := range buf {
			if !fn(s) {
				return
			}
		}
	}
}

// CloseDomain unbinds and stops every session of a domain that was disabled or
// removed. As MongooseIM does (ejabberd_local unregister_host), the streams are
// closed without a specific stream error. It returns the number of sessions
// stopped.
func (r *Router) CloseDomain(domain string) int {
	d, err := jid.NormalizeDomain(domain)
	if err != nil {
		return 0
	}
	var stopped []Session
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		for bare, es := range sh.users {
			if bare.Domain() == d {
				stopped = append(stopped, sessionsOf(es)...)
				delete(sh.users, bare)
			}
		}
		sh.mu.Unlock()
	}
	r.count.Add(-int64(len(stopped)))
	r.uncount(stopped)
	stopAll(stopped, "", "")
	return len(stopped)
}

// CloseUser unbinds and stops every session of an account that was removed. The
// streams end with <conflict/> and the text "User removed", which is what
// MongooseIM and ejabberd send (ejabberd_sm:disconnect_removed_user): the account
// is gone, and a client that sees conflict does not reconnect in a loop. It
// returns the number of sessions stopped.
func (r *Router) CloseUser(domain, user string) int {
	bare, err := jid.New(user, domain, "")
	if err != nil || user == "" {
		return 0
	}
	sh := r.shardOf(bare)
	sh.mu.Lock()
	es := sh.users[bare]
	delete(sh.users, bare)
	sh.mu.Unlock()
	r.count.Add(-int64(len(es)))
	stopped := sessionsOf(es)
	r.uncount(stopped)
	stopAll(stopped, condConflict, textRemoved)
	return len(stopped)
}

// uncount takes sessions removed from the table off the per-host-type gauge.
func (r *Router) uncount(ss []Session) {
	for _, s := range ss {
		r.m.Sessions.For(s.HostType()).Dec()
	}
}

func sessionsOf(es []entry) []Session {
	if len(es) == 0 {
		return nil
	}
	out := make([]Session, len(es))
	for i, e := range es {
		out[i] = e.s
	}
	return out
}

func stopAll(ss []Session, cond xmlstream.Condition, text string) {
	for _, s := range ss {
		s.Stop(cond, text)
	}
}
