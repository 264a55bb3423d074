package router

import (
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Remote is the rest of the cluster as the router sees it: the sessions bound on
// other nodes (a table every node replicates in memory, like MongooseIM's CETS) and
// the node mesh that carries stanzas to them. node/mesh implements it.
//
// Every method is called on routing or binding paths, some under the router's own
// locks, so none may block or call back into the router.
type Remote interface {
	// Sessions returns the sessions of a bare JID bound on other nodes, nil when
	// there are none. It runs for every stanza routed to an account, so it must be
	// cheap; the slice must not be modified.
	Sessions(bare jid.JID) []RemoteSession
	// SessionsOfDomain returns every remote session of a domain (administration).
	SessionsOfDomain(domain string) []RemoteSession

	// Route hands el to node, whose router routes it to its own sessions after
	// running its filters (RouteFromPeer there). It returns false when el could not
	// be queued (the node is not connected).
	Route(node string, el *xmlstream.Element) bool
	// Deliver hands el, as is, to the session bound to full on node
	// (DeliverFromPeer there): replies and errors, which skip the filters.
	Deliver(node string, full jid.JID, el *xmlstream.Element) bool
	// Stop asks node to stop the session bound to full (StopFromPeer there).
	Stop(node string, full jid.JID, cond xmlstream.Condition, text string)

	// Bound publishes a session just bound on this node; it replaces whatever
	// was published under its JID. The router calls it under its table lock, so
	// that publications of one JID are ordered as the binds were.
	Bound(s Session, priority int, available bool)
	// Changed republishes the priority and availability of s, if s is still the
	// session published under its JID.
	Changed(s Session, priority int, available bool)
	// Unbound withdraws s, if it is still the session published under its JID.
	Unbound(s Session)
}

// RemoteSession is a session bound on another node, as the replicated table
// describes it.
type RemoteSession struct {
	Node      string
	JID       jid.JID
	HostType  string
	Priority  int
	Available bool
}

// remoteSession is a RemoteSession seen as a Session: Deliver hands the stanza to
// it on its node, as is, and Stop asks that node to stop it. Routing to a bare JID
// picks among these and the local sessions alike, and Sessions and
// SessionsOfDomain return them, so the admin API lists and kicks cluster-wide.
type remoteSession struct {
	rm Remote
	rs RemoteSession
}

func (s remoteSession) JID() jid.JID          { return s.rs.JID }
func (s remoteSession) HostType() string      { return s.rs.HostType }
func (s remoteSession) Priority() (int, bool) { return s.rs.Priority, s.rs.Available }
func (s remoteSession) Deliver(el *xmlstream.Element) bool {
	return s.rm.Deliver(s.rs.Node, s.rs.JID, el)
}
func (s remoteSession) Stop(cond xmlstream.Condition, text string) {
	s.rm.Stop(s.rs.Node, s.rs.JID, cond, text)
}

// NodeOf reports the node a session returned by Sessions or SessionsOfDomain is
// bound on, when that is another node (ok=false for a session of this node).
func NodeOf(s Session) (node string, ok bool) {
	if rs, isRemote := s.(remoteSession); isRemote {
		return rs.rs.Node, true
	}
	return "", false
}

func (r *Router) wrapRemote(rss []RemoteSession) []Session {
	out := make([]Session, len(rss))
	for i, rs := range rss {
		out[i] = remoteSession{rm: r.cfg.Remote, rs: rs}
	}
	return out
}

// remoteSessions returns the remote sessions of a bare JID (nil without a mesh).
func (r *Router) remoteSessions(bare jid.JID) []RemoteSession {
	if r.cfg.Remote == nil {
		return nil
	}
	return r.cfg.Remote.Sessions(bare)
}

// remoteFull returns the remote session bound to a full JID. While a session moves
// between nodes (replaced on another node) two may be listed for a moment; the one
// published last wins.
func (r *Router) remoteFull(full jid.JID) (RemoteSession, bool) {
	rss := r.remoteSessions(full.Bare())
	for i := len(rss) - 1; i >= 0; i-- {
		if rss[i].JID == full {
			return rss[i], true
		}
	}
	return RemoteSession{}, false
}

// remoteOthers counts the remote sessions of bare that a bind of res adds to, for
// the cluster-wide session limit: not res itself (the bind replaces it), nor a
// resource bound here too (being replaced by this node's session).
func (r *Router) remoteOthers(bare jid.JID, res string, local []entry) int {
	n := 0
	for _, rs := range r.remoteSessions(bare) {
		if rr := rs.JID.Resource(); rr != res && indexOf(local, rr) < 0 {
			n++
		}
	}
	return n
}

// publishBound, publishUnbound and kickRemote keep the cluster's table in step with
// this node's binds.
func (r *Router) publishBound(s Session) {
	if r.cfg.Remote != nil {
		p, avail := priorityOf(s)
		r.cfg.Remote.Bound(s, p, avail)
	}
}

func (r *Router) publishUnbound(s Session) {
	if r.cfg.Remote != nil {
		r.cfg.Remote.Unbound(s)
	}
}

// kickRemote stops the sessions of full bound on other nodes: a bind replaces a
// session of the same full JID anywhere in the cluster, with the <conflict/> a local
// replacement gets.
func (r *Router) kickRemote(full jid.JID) {
	for _, rs := range r.remoteSessions(full.Bare()) {
		if rs.JID == full {
			r.cfg.Remote.Stop(rs.Node, full, condConflict, textReplaced)
		}
	}
}

// SessionChanged tells the cluster that a session's priority or availability
// changed (its broadcast presence), so that other nodes route bare-JID messages by
// the same rules as this one. The router calls it itself after Config.Presence has
// handled a broadcast; a module that changes availability elsewhere calls it too.
func (r *Router) SessionChanged(s Session) {
	if r.cfg.Remote != nil && s != nil {
		p, avail := priorityOf(s)
		r.cfg.Remote.Changed(s, p, avail)
	}
}

// entries returns the sessions of a bare JID: this node's, then, with a Remote, the
// other nodes' (as remoteSession values, whose Deliver sends the stanza to their
// node as is). The routing rules of deliver.go thus pick recipients cluster-wide.
func (r *Router) entries(bare jid.JID) []entry {
	es := r.localEntries(bare)
	rss := r.remoteSessions(bare)
	if len(rss) == 0 {
		return es
	}
	out := make([]entry, len(es), len(es)+len(rss))
	copy(out, es)
	for _, rs := range rss {
		out = append(out, entry{res: rs.JID.Resource(), s: remoteSession{rm: r.cfg.Remote, rs: rs}})
	}
	return out
}

// forwardRemote decides, before any filter runs, whether another node should route
// a stanza instead of this one. The filter chain (domain isolation, roster
// subscriptions, archiving, offline storage, ...) must run exactly once per stanza,
// and on a node that holds a recipient, so that it sees the recipient as a local
// one:
//
//   - a full JID bound on another node: that node routes it (filters, then its
//     session);
//   - a bare JID (or a message for a full JID bound nowhere, which RFC 6121 section
//     8.5.3.2.1 sends to the bare JID) whose recipients are all on other nodes: the
//     first node holding one routes it, and delivers to the others from there;
//   - anything else is routed here: filters once, then delivery to every chosen
//     session, local or remote (entries), remote ones as is over the mesh.
//
// It returns true when the stanza went to another node. A stanza that came from
// another node is never forwarded again, so a stale table cannot make one loop.
func (r *Router) forwardRemote(o origin, to jid.JID, el *xmlstream.Element) bool {
	if r.cfg.Remote == nil || o.remote || to.Local() == "" {
		return false
	}
	if to.Resource() != "" {
		if _, ok := r.Lookup(to); ok {
			return false
		}
		if rs, ok := r.remoteFull(to); ok {
			return r.cfg.Remote.Route(rs.Node, el)
		}
		if el.Local != "message" {
			return false
		}
		switch el.Attr("type") {
		case "error", "groupchat":
			return false
		}
	}
	rss := r.remoteSessions(to.Bare())
	if len(rss) == 0 {
		return false
	}
	local := r.localEntries(to.Bare())
	switch el.Local {
	case "message":
		localBest := -1
		for _, e := range local {
			if p, available := priorityOf(e.s); available && p > localBest {
				localBest = p
			}
		}
		best := localBest
		for _, rs := range rss {
			if rs.Available && rs.Priority > best {
				best = rs.Priority
			}
		}
		if best < 0 || localBest == best {
			return false
		}
		for _, rs := range rss {
			if rs.Available && rs.Priority == best {
				return r.cfg.Remote.Route(rs.Node, el)
			}
		}
	case "presence":
		for _, e := range local {
			if _, available := priorityOf(e.s); available {
				return false
			}
		}
		for _, rs := range rss {
			if rs.Available {
				return r.cfg.Remote.Route(rs.Node, el)
			}
		}
	}
	// IQs to a bare JID are answered by this node's handlers (the store is
	// replicated); they never go to a session.
	return false
}

// deliverRemote is deliverDirect's fall-through for a full JID not bound here: a
// reply or error for a sender on another node goes straight to its session there.
func (r *Router) deliverRemote(full jid.JID, el *xmlstream.Element) {
	if rs, ok := r.remoteFull(full); ok {
		r.cfg.Remote.Deliver(rs.Node, full, el)
	}
}

// RouteFromPeer routes a stanza another node forwarded (Remote.Route there): the
// filters of this node run, and it is delivered to this node's sessions only, with
// the usual fall-backs (offline storage, bounces, which go back to the sender's
// node). It is never forwarded again.
func (r *Router) RouteFromPeer(el *xmlstream.Element) error {
	from, err := jid.Parse(el.Attr("from"))
	if err != nil {
		return ErrBadAddress
	}
	if el.Attr("to") == "" {
		return ErrBadAddress
	}
	r.route(origin{jid: from, remote: true}, el)
	return nil
}

// DeliverFromPeer hands a stanza another node addressed to a session of this node
// (Remote.Deliver there) to that session as is. It reports whether the session
// took it.
func (r *Router) DeliverFromPeer(full jid.JID, el *xmlstream.Element) bool {
	if s, ok := r.Lookup(full); ok {
		return s.Deliver(el)
	}
	return false
}

// StopFromPeer stops the session of this node bound to full, for another node
// (Remote.Stop there): a bind of the same full JID there, or an administrator's
// kick. It reports whether there was such a session.
func (r *Router) StopFromPeer(full jid.JID, cond xmlstream.Condition, text string) bool {
	s, ok := r.Lookup(full)
	if ok {
		s.Stop(cond, text)
	}
	return ok
}
