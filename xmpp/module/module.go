// Package module runs the server's optional features (MongooseIM's gen_mod modules:
// mod_roster, mod_presence, mod_offline, ...) per host type, and gives them the hook
// points they plug into: IQ handlers, disco features, stanza chains on the way in from
// and out to a client, session open and close, broadcast presence, routing filters,
// offline storage, stream features and per-session state.
//
// A module is started once per host type that enables it, never per domain, so a
// million domains of one host type share one set of hooks. Everything a module
// registers is keyed by that host type: a module that is off for a host type has no
// IQ handler there (the router answers <service-unavailable/>), no disco feature and
// no hook.
//
// The package does not import the configuration: node/server resolves which modules a
// host type enables and passes their options as an Options value. docs/modules.md is
// the guide for module authors.
package module

import (
	"context"
	"net"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Module describes one module.
type Module struct {
	// Name is MongooseIM's name, the key of its [modules.NAME] section ("mod_roster").
	Name string
	// Start registers the module for env.HostType(): its IQ handlers, disco features
	// and hooks, through env. It runs once per host type, before any client of that
	// host type connects, and must not block. An error (bad options, say) stops the
	// server from starting.
	Start func(env *Env, opts Options) error
}

// Options are a module's configured options, read by dotted path
// ("async_writer.batch_size"). node/config.Module implements it.
type Options interface {
	Has(path string) bool
	Int(path string, def int) int
	String(path, def string) string
	Bool(path string, def bool) bool
}

// NoOptions is an empty Options, for tests and modules started without a section.
type NoOptions struct{}

func (NoOptions) Has(string) bool              { return false }
func (NoOptions) Int(_ string, def int) int    { return def }
func (NoOptions) String(_, def string) string  { return def }
func (NoOptions) Bool(_ string, def bool) bool { return def }

// Reader reads the replicated store: a local bbolt read transaction.
type Reader interface {
	View(fn func(tx *bolt.Tx) error) error
}

// Writer proposes a mutation to the replicated store and returns once it is applied on
// this node (so a View right after sees it). The error is the mutation's domain error
// (a store.CodeError) or a cluster error.
type Writer interface {
	Apply(ctx context.Context, m store.Mutation) (any, error)
}

// Watcher tells about committed mutations, for in-memory views of replicated data
// that the hot paths read instead of opening a store transaction per stanza.
type Watcher interface {
	// OnApplied registers fn to run after each mutation that committed on this node,
	// in commit order, before the Apply that proposed it returns. fn must be quick
	// and must not Apply.
	OnApplied(fn func(store.Mutation))
	// OnReset registers fn to run after the whole store was replaced (a snapshot
	// installed from the leader): views must be rebuilt from the store.
	OnReset(fn func())
}

// Store reads, writes and watches the replicated store; *node.Node implements it.
type Store interface {
	Reader
	Writer
	Watcher
}

// Directory tells a domain's host type and whether it is a configured (static) host,
// which store mutations need to know. *node.Directory implements it.
type Directory interface {
	HostTypeOf(domain string) (hostType string, ok bool)
	IsStatic(domain string) bool
	// Incarnation identifies the tenant holding domain now (ok false while it is
	// being removed or after): a domain removed and added again is a new tenant.
	Incarnation(domain string) (inc uint64, ok bool)
}

// Accounts tells whether an account exists.
type Accounts interface {
	UserExists(domain, user string) bool
}

// Router is what modules use of the router; *router.Router implements it. Deliver
// injects a stanza from any address (the server, or a user on whose behalf the server
// acts); it runs the filters of the recipient's host type, which is how, for
// instance, a subscription request reaches the contact's roster module.
type Router interface {
	Deliver(el *xmlstream.Element) error
	Route(from router.Session, el *xmlstream.Element)
	Sessions(domain, user string) []router.Session
	Lookup(full jid.JID) (router.Session, bool)
	HandleIQ(hostType, ns string, targets router.Target, h router.IQHandler)
}

// Session is a bound client session as modules see it; the c2s connection implements
// it. Its JID and host type never change.
type Session interface {
	router.Session
	// Priority reports the priority and availability of the last broadcast presence
	// (router.Prioritized): a session that has sent no available presence yet is
	// unavailable (when mod_presence runs for its host type) and receives no messages
	// addressed to the bare JID.
	router.Prioritized
	// Presence returns the session's last available broadcast presence, 'from'
	// stamped, or nil while it is unavailable. The element is shared: read only.
	Presence() *xmlstream.Element
	// SetPresence records the broadcast presence (nil: unavailable). Modules call
	// Host.SetPresence instead, which also runs the OnAvailability hooks.
	SetPresence(el *xmlstream.Element, priority int)
	// Value and SetValue hold per-session module state. Keys should be of a type
	// private to the module, as with context.Context values; a nil value deletes.
	// They are safe for concurrent use, but Value then SetValue is not atomic: keep
	// values that several goroutines change behind their own lock.
	Value(key any) any
	SetValue(key, value any)
	// RemoteAddr is the client's address (mod_sic).
	RemoteAddr() net.Addr
}

// Close says why a session ended.
type Close struct {
	// Replaced is set when a new session bound the same full JID.
	Replaced bool
	// Condition and Text are the stream error the server sent, if any.
	Condition xmlstream.Condition
	Text      string
}

// Availability is a session's presence state as the router uses it.
type Availability struct {
	Available bool
	Priority  int
}

// Verdict is what a chain hook tells its chain.
type Verdict bool

const (
	// Continue passes the stanza on to the next hook, then to its default handling.
	Continue Verdict = false
	// Stop ends the chain: the hook consumed the stanza (it may have routed it itself).
	Stop Verdict = true
)

// Hook signatures.
type (
	// SendHook sees a stanza a client sent, 'from' stamped with the session's full JID
	// and 'to' checked, before the router routes it.
	SendHook func(s Session, el *xmlstream.Element) Verdict
	// ReceiveHook sees a stanza about to be queued for a client. It returns the
	// stanza to write (el itself, or a modified clone: el is shared with other
	// recipients and must not be changed) or nil to drop it. It runs on the
	// deliverer's goroutine and must not block.
	ReceiveHook func(s Session, el *xmlstream.Element) *xmlstream.Element
	// IncomingHook sees every stanza the router is about to handle for a local
	// address of the host type (delivery, a server IQ, or a bounce): from is the
	// sender as routed, to the parsed recipient. Stop drops the stanza; reply, if not
	// nil and the stanza is not an error, goes back to the sender without passing the
	// filters again.
	IncomingHook func(from, to jid.JID, el *xmlstream.Element) (v Verdict, reply *xmlstream.Element)
	// PresenceHook handles a presence the client sent without 'to' (RFC 6121
	// section 4: a broadcast, or presence to the server).
	PresenceHook func(s Session, el *xmlstream.Element)
	// OfflineHook is offered a message for an account with no session that takes
	// it; true means it was stored (see router.Config.Offline).
	OfflineHook func(to jid.JID, el *xmlstream.Element) bool
	// AvailabilityHook runs after a session's availability or priority changed.
	AvailabilityHook func(s Session, before, after Availability)
	// FeaturesHook adds elements to <stream:features/> at a negotiation stage.
	FeaturesHook func(stage Stage) []*xmlstream.Element
	// NonzaHook handles a top-level element of a bound stream that is not a stanza
	// (<r/> of stream management, <active/> of CSI). A non-nil error ends the
	// stream (a stream error from the connection layer, e.g. c2s's, is sent as such).
	NonzaHook func(s Session, el *xmlstream.Element) error
)

// Stage is a point of stream negotiation that offers features.
type Stage int

const (
	// StagePreAuth is the features of a stream before SASL (after TLS).
	StagePreAuth Stage = iota
	// StagePostAuth is the features after SASL, next to <bind/>.
	StagePostAuth
)

// Hook priorities: a chain runs its hooks in ascending priority, registration order
// breaking ties. Modules use these so their relative order is fixed in one place.
const (
	PrioFirst    = 10 // access control that must see stanzas before anyone (blocking, privacy)
	PrioRoster   = 40 // subscription state machine
	PrioPresence = 50 // presence tracking and probes
	PrioDefault  = 50
	PrioArchive  = 70 // carbons, MAM: after the stanza's fate is decided
	PrioLast     = 90 // delivery shaping (CSI buffering)
)

// ConnHooks is what a connection layer (c2s) calls; *Host implements it.
type ConnHooks interface {
	// ManagesPresence reports whether sessions of hostType start unavailable and
	// become available only with presence (mod_presence is on).
	ManagesPresence(hostType string) bool
	SessionOpened(s Session)
	SessionClosed(s Session, c Close)
	// UserSend returns true when a hook consumed the stanza.
	UserSend(s Session, el *xmlstream.Element) bool
	// UserReceive returns the stanza to write, or nil to drop it.
	UserReceive(s Session, el *xmlstream.Element) *xmlstream.Element
	StreamFeatures(hostType string, stage Stage) []*xmlstream.Element
	// Nonza handles a non-stanza element; handled is false when no module takes its
	// namespace.
	Nonza(s Session, el *xmlstream.Element) (handled bool, err error)
}

// Readdress returns a shallow copy of el with new from and to ("" removes one): the
// attributes are copied, the children shared. The router shares stanzas among
// recipients, so a module that sends one stanza to many addresses (a presence
// broadcast) makes one of these per address instead of changing el.
func Readdress(el *xmlstream.Element, from, to string) *xmlstream.Element {
	// One allocation for the element and its attributes in the usual case: this runs
	// once per recipient of every broadcast.
	var attrs []xmlstream.Attr
	var out *xmlstream.Element
	if len(el.Attrs)+2 <= inlineAttrs {
		r := new(readdressed)
		out, attrs = &r.el, r.attrs[:0]
	} else {
		out, attrs = new(xmlstream.Element), make([]xmlstream.Attr, 0, len(el.Attrs)+2)
	}
	for _, a := range el.Attrs {
		if a.Space == "" && (a.Local == "from" || a.Local == "to") {
			continue
		}
		attrs = append(attrs, a)
	}
	if from != "" {
		attrs = append(attrs, xmlstream.Attr{Local: "from", Value: from})
	}
	if to != "" {
		attrs = append(attrs, xmlstream.Attr{Local: "to", Value: to})
	}
	out.Space, out.Local = el.Space, el.Local
	// Capacity == length, so that SetAttr or AddChild on the copy reallocates
	// instead of writing into the inline array's spare room or el's children.
	out.Attrs = attrs[:len(attrs):len(attrs)]
	out.Children = slices.Clip(el.Children)
	return out
}

const inlineAttrs = 6

type readdressed struct {
	el    xmlstream.Element
	attrs [inlineAttrs]xmlstream.Attr
}
