package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/metrics"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Sentinel errors.
var (
	// ErrTooManySessions is returned by Bind when the user already has as many
	// sessions as the max_user_sessions limit allows.
	ErrTooManySessions = errors.New("router: too many sessions for this user")
	// ErrNotBound is returned by Bind for a session whose JID is not a full JID.
	ErrNotBound = errors.New("router: session JID has no resource")
	// ErrBadAddress is returned by Deliver for a missing or malformed from/to.
	ErrBadAddress = errors.New("router: bad stanza address")
)

// Stream error conditions the router stops sessions with. xmlstream only names the
// conditions its parser detects, so the router spells out its own.
const (
	condConflict xmlstream.Condition = "conflict"
	// textReplaced is MongooseIM's text for the session a new bind replaces.
	textReplaced = ReplacedText
	// textRemoved is the text ejabberd_sm/MongooseIM send with <conflict/> when an
	// account is removed while logged in (disconnect_removed_user).
	textRemoved = "User removed"
)

// ReplacedText is the text of the <conflict/> stream error that ends a session replaced
// by a new bind of the same full JID (MongooseIM's), so the connection layer can tell a
// replacement from other ends.
const ReplacedText = "Replaced by new connection"

// DefaultMaxSessions is the default of max_user_sessions (MongooseIM's default
// config sets 10).
const DefaultMaxSessions = 10

// Directory tells which domains this node serves, and with which host type.
// node.Directory implements it.
type Directory interface {
	HostTypeOf(domain string) (hostType string, ok bool)
}

// Accounts tells whether an account exists. It is optional: see Config.Accounts.
type Accounts interface {
	UserExists(domain, user string) bool
}

// Prioritized is an optional interface of a Session that tracks the client's
// presence (RFC 6121 section 4.7.2.3). The router honours it when routing to a
// bare JID: a session that reports available=false receives no messages or
// presence sent to the bare JID, and messages go only to the available sessions
// with the highest non-negative priority. Sessions that do not implement it count
// as available with priority 0.
type Prioritized interface {
	Priority() (priority int, available bool)
}

// Filter inspects a stanza about to be handled locally: delivered to a session,
// answered by the server, or bounced. hostType is the recipient domain's host type
// (modules are configured per host type). A filter may modify el (to add a
// stanza-id, for example). drop=true stops the stanza; errReply, when non-nil and
// the dropped stanza is not itself an error, goes back to the sender as is, without
// passing through the filters again (so a domain-isolation error can cross the
// domains it isolates, as in MongooseIM).
type Filter func(hostType string, from, to jid.JID, el *xmlstream.Element) (drop bool, errReply *xmlstream.Element)

// Config configures a Router. Only Directory is required.
type Config struct {
	Directory Directory
	// Accounts, when set, makes stanzas for an account that does not exist behave
	// as RFC 6121 section 8.5.1 says: IQs and chat/normal messages get
	// <service-unavailable/>, other stanzas are dropped, and nothing reaches the
	// Offline hook. Only consulted when no session of the user is bound, and never
	// for the sender's own account.
	Accounts Accounts
	// MaxSessions is the default number of sessions per user (0 means
	// DefaultMaxSessions, negative means unlimited).
	MaxSessions int
	// SessionLimit, when set, gives the limit for one user (the max_user_sessions
	// access rule, which depends on the host type and ACLs); it overrides
	// MaxSessions. A result <= 0 means unlimited.
	SessionLimit func(hostType string, user jid.JID) int
	// Offline is offered a message for a user with no session that can take it
	// (never one of type error). Returning true means it was stored; false makes
	// chat and normal messages bounce with <service-unavailable/> and drops the
	// rest. to is the recipient as addressed (a full JID when a full JID had no
	// session).
	Offline func(hostType string, to jid.JID, el *xmlstream.Element) bool
	// Presence handles presence stanzas without a 'to' (broadcasts and presence to
	// the server: RFC 6121 section 4). Nil drops them until the IM module exists.
	Presence func(from Session, el *xmlstream.Element)
	// Filters run in order for every stanza handled locally.
	Filters []Filter
	// Remote, when set, is the rest of the cluster (node/mesh): stanzas for
	// sessions bound on other nodes are forwarded there before the filters run, and
	// binds are published to, and replace sessions on, every node (see remote.go).
	Remote Remote
	// BaseContext is the parent of the context IQ handlers get; nil means
	// context.Background. Node cancels it on shutdown.
	BaseContext context.Context
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics receives the session gauge and the no-route counter; nil keeps
	// them private.
	Metrics *metrics.Set
}

// Router routes stanzas between the sessions bound on this node and the server's
// IQ handlers. It is safe for concurrent use by any number of goroutines; no method
// blocks on a session.
//
// Stanzas are shared, not copied: the element Route receives may be handed to
// several sessions (a message to a bare JID) and must not be modified by the caller
// afterwards, and a session must treat a delivered element as read-only (Clone it
// to change it).
type Router struct {
	cfg    Config
	dir    Directory
	log    *slog.Logger
	ctx    context.Context
	shards [shardCount]shard
	count  atomic.Int64
	iq     iqTable
	m      *metrics.Set
}

// New returns a Router. It fails when cfg.Directory is nil.
func New(cfg Config) (*Router, error) {
	if cfg.Directory == nil {
		return nil, fmt.Errorf("router: %w", errNoDirectory)
	}
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	r := &Router{cfg: cfg, dir: cfg.Directory, log: cfg.Logger, ctx: cfg.BaseContext, m: metrics.Or(cfg.Metrics)}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.ctx == nil {
		r.ctx = context.Background()
	}
	for i := range r.shards {
		r.shards[i].users = make(map[jid.JID][]entry)
	}
	r.iq.init()
	return r, nil
}

var errNoDirectory = errors.New("Config.Directory is required")

// origin is where a stanza comes from: a bound session, or (sess == nil) the
// server side, injected through Deliver.
type origin struct {
	sess Session
	jid  jid.JID
	// remote marks a stanza another node forwarded: it is only delivered here.
	remote bool
}

// Route routes a stanza a bound session sent. The c2s layer has already stamped
// 'from' with the session's full JID; 'to' may be absent. Errors the stanza
// provokes go back to the session. Route never blocks on another session; IQs for
// the server run their handler on the caller's goroutine.
func (r *Router) Route(from Session, el *xmlstream.Element) {
	r.route(origin{sess: from, jid: from.JID()}, el)
}

// Deliver routes a stanza from the server side (the admin API's POST /stanzas, or
// a module sending on a user's or the server's behalf) as if it had arrived from
// its 'from' address, which the caller sets; 'to' is required. Replies and errors
// it provokes go to 'from' if that is a session (or user) of this node, else
// nowhere. The returned error only reports bad addresses; delivery itself is, as
// in XMPP, fire and forget.
func (r *Router) Deliver(el *xmlstream.Element) error {
	from, err := jid.Parse(el.Attr("from"))
	if err != nil {
		return fmt.Errorf("%w: from: %w", ErrBadAddress, err)
	}
	if el.Attr("to") == "" {
		return fmt.Errorf("%w: 'to' is required", ErrBadAddress)
	}
	if _, err := jid.Parse(el.Attr("to")); err != nil {
		return fmt.Errorf("%w: to: %w", ErrBadAddress, err)
	}
	r.route(origin{jid: from}, el)
	return nil
}

func (r *Router) route(o origin, el *xmlstream.Element) {
	var to jid.JID
	if s := el.Attr("to"); s != "" {
		var err error
		if to, err = jid.Parse(s); err != nil {
			r.bounce(o, el, jidMalformed)
			return
		}
	} else {
		switch el.Local {
		case "presence":
			if r.cfg.Presence != nil && o.sess != nil {
				r.cfg.Presence(o.sess, el)
				r.SessionChanged(o.sess)
			}
			return
		case "iq", "message":
			// RFC 6120 section 10.3: no 'to' means the sender's own account.
			to = o.jid.Bare()
		default:
			return
		}
	}
	if el.Local == "iq" && !validIQ(el) {
		r.bounce(o, el, badRequest)
		return
	}
	hostType, ok := r.dir.HostTypeOf(to.Domain())
	if !ok {
		// No federation yet: every domain not served here is unreachable.
		r.m.NoRouteFound.For(r.hostTypeOf(o)).Inc()
		r.bounce(o, el, remoteServerNotFound)
		return
	}
	if r.forwardRemote(o, to, el) {
		return
	}
	for _, f := range r.cfg.Filters {
		if drop, errReply := f(hostType, o.jid, to, el); drop {
			if errReply != nil && !stanza.IsError(el) {
				r.reply(o, errReply)
			}
			return
		}
	}
	switch el.Local {
	case "message":
		r.routeMessage(o, to, hostType, el)
	case "presence":
		r.routePresence(to, el)
	case "iq":
		r.routeIQ(o, to, hostType, el)
	}
}

// hostTypeOf returns the host type of a stanza's sender, "" for a domain not
// served here.
func (r *Router) hostTypeOf(o origin) string {
	if o.sess != nil {
		return o.sess.HostType()
	}
	ht, _ := r.dir.HostTypeOf(o.jid.Domain())
	return ht
}

// reply sends a stanza the router or a handler produced back to the origin,
// bypassing filters and never bouncing.
func (r *Router) reply(o origin, el *xmlstream.Element) {
	if o.sess != nil {
		o.sess.Deliver(el)
		return
	}
	r.deliverDirect(o.jid, el)
}

// deliverDirect hands el to the sessions of to, if any: a full JID gets its
// session, a bare JID all of its sessions, the server nothing.
func (r *Router) deliverDirect(to jid.JID, el *xmlstream.Element) {
	if to.Local() == "" {
		return
	}
	if to.Resource() != "" {
		if s, ok := r.Lookup(to); ok {
			s.Deliver(el)
		} else {
			r.deliverRemote(to, el)
		}
		return
	}
	for _, e := range r.entries(to) {
		e.s.Deliver(el)
	}
}
