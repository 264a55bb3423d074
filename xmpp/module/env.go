package module

import (
	"context"
	"github.com/mongoose-go/mongoose-go/xmpp/metrics"
	"log/slog"

	"github.com/mongoose-go/mongoose-go/xmpp/disco"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
)

// Env is what Module.Start gets: the host type being started and the means to
// register. Registration methods may only be called during Start (they panic after):
// the hook tables are frozen once the module runs.
type Env struct {
	h        *Host
	hostType string
	name     string
	t        *table
	log      *slog.Logger
	done     bool
	iqs      []iqReg
	feats    []featReg
	stops    []func()
}

type iqReg struct {
	ns      string
	targets router.Target
}

type featReg struct {
	targets router.Target
	ns      string
}

func (e *Env) check() {
	if e.done {
		panic("module " + e.name + ": hooks can only be registered during Start")
	}
}

// HostType is the host type the module is started for.
func (e *Env) HostType() string { return e.hostType }

// Metrics is where the module counts what operators graph (docs/metrics.md);
// resolve a host type's counter once, at start.
func (e *Env) Metrics() *metrics.Set { return e.h.cfg.Metrics }

// Logger logs with the module's name and host type.
func (e *Env) Logger() *slog.Logger { return e.log }

// Context is canceled when the server stops.
func (e *Env) Context() context.Context { return e.h.ctx }

// Host is the module host: Enabled, SetPresence.
func (e *Env) Host() *Host { return e.h }

// Router routes stanzas.
func (e *Env) Router() Router { return e.h.cfg.Router }

// Store reads and writes the replicated store.
func (e *Env) Store() Store { return e.h.cfg.Store }

// Directory resolves domains.
func (e *Env) Directory() Directory { return e.h.cfg.Directory }

// pendingKey holds, in a session's values, the waits registered by BeforeHandled for
// the stanza being handled. Only the session's goroutine touches it.
type pendingKey struct{}

// BeforeHandled registers wait to run on the session's goroutine once the stanza its
// client is sending has been routed, before it counts as handled (XEP-0198's h). A
// user-send hook whose work must be done before the acknowledgement, but not before
// routing, starts it and defers the wait here: mod_mam commits the sender's copy of
// a message this way, in the same batch as the recipient's copy. Call it only from
// a user-send hook.
func (e *Env) BeforeHandled(s Session, wait func()) {
	p, _ := s.Value(pendingKey{}).(*[]func())
	if p == nil {
		p = new([]func())
		s.SetValue(pendingKey{}, p)
	}
	*p = append(*p, wait)
}

// tenantKey holds, in each session's values, the incarnation of its domain when the
// session opened (Directory.Incarnation); resumed sessions inherit it.
type tenantKey struct{}

// SameTenant reports whether s's domain is still served by the tenant that held it
// when s opened. Work done for a session after its domain's removal started (as the
// session closes: re-routing unacknowledged messages, recording the logout) must not
// be stored, or it would outlive the tenant or reach a new tenant of the same name.
func (e *Env) SameTenant(s Session) bool {
	inc, ok := e.h.cfg.Directory.Incarnation(s.JID().Domain())
	if !ok {
		return false
	}
	opened, known := s.Value(tenantKey{}).(uint64)
	return !known || opened == inc
}

// Accounts tells whether accounts exist.
func (e *Env) Accounts() Accounts { return e.h.cfg.Accounts }

// HandleIQ answers IQ get/set requests in namespace ns to the targets of domains of the
// host type. The namespace is then advertised by disco#info at those targets.
func (e *Env) HandleIQ(ns string, targets router.Target, h router.IQHandler) {
	e.check()
	e.h.cfg.Router.HandleIQ(e.hostType, ns, targets, h)
	e.iqs = append(e.iqs, iqReg{ns, targets})
}

// AddFeature advertises ns in disco#info at the targets of the host type's domains, for
// features that are not IQ namespaces of the module.
func (e *Env) AddFeature(targets router.Target, ns string) {
	e.check()
	if e.h.cfg.Disco != nil {
		e.h.cfg.Disco.AddFeature(e.hostType, targets, ns)
		e.feats = append(e.feats, featReg{targets, ns})
	}
}

// AddDiscoItems lists items (subdomain services) in disco#items of the host type's
// domains.
func (e *Env) AddDiscoItems(fn disco.ItemsFunc) {
	e.check()
	if e.h.cfg.Disco != nil {
		e.h.cfg.Disco.AddItems(e.hostType, fn)
	}
}

// ManagePresence makes the host type's sessions start unavailable: they receive no
// bare-JID messages and presence until they send available presence, as RFC 6121
// section 8.5.2 requires of a server that tracks presence (mod_presence calls it).
func (e *Env) ManagePresence() { e.check(); e.t.presence = true }

// OnSessionOpened runs fn on the session's goroutine after a resource is bound, before
// the session's first stanza is read.
func (e *Env) OnSessionOpened(fn func(Session)) { e.check(); e.t.opened = append(e.t.opened, fn) }

// OnSessionClosed runs fn on the session's goroutine after the session is unbound from
// the router (it receives nothing more), in the reverse order of registration.
func (e *Env) OnSessionClosed(fn func(Session, Close)) {
	e.check()
	e.t.closed = append(e.t.closed, fn)
}

// OnUserSend adds a hook to the chain every stanza a client sends goes through.
func (e *Env) OnUserSend(prio int, fn SendHook) {
	e.check()
	e.t.send = append(e.t.send, entry[SendHook]{prio, e.seq(), fn})
}

// OnUserReceive adds a hook to the chain every stanza for a client goes through.
func (e *Env) OnUserReceive(prio int, fn ReceiveHook) {
	e.check()
	e.t.receive = append(e.t.receive, entry[ReceiveHook]{prio, e.seq(), fn})
}

// OnIncoming adds a router filter for stanzas to the host type's domains.
func (e *Env) OnIncoming(prio int, fn IncomingHook) {
	e.check()
	e.t.incoming = append(e.t.incoming, entry[IncomingHook]{prio, e.seq(), fn})
}

// OnPresence handles presence sent without 'to'.
func (e *Env) OnPresence(prio int, fn PresenceHook) {
	e.check()
	e.t.presenceFns = append(e.t.presenceFns, entry[PresenceHook]{prio, e.seq(), fn})
}

// OnOffline offers undeliverable messages to the module; the first hook that returns
// true has stored the message.
func (e *Env) OnOffline(prio int, fn OfflineHook) {
	e.check()
	e.t.offline = append(e.t.offline, entry[OfflineHook]{prio, e.seq(), fn})
}

// OnAvailability runs fn when a session's availability or priority changes (through
// Host.SetPresence), on the goroutine that changed it.
func (e *Env) OnAvailability(fn AvailabilityHook) {
	e.check()
	e.t.availability = append(e.t.availability, fn)
}

// OnStreamFeatures adds stream features for the host type's streams.
func (e *Env) OnStreamFeatures(fn FeaturesHook) {
	e.check()
	e.t.features = append(e.t.features, fn)
}

// OnNonza handles top-level elements of namespace ns on bound streams.
func (e *Env) OnNonza(ns string, fn NonzaHook) {
	e.check()
	if e.t.nonza == nil {
		e.t.nonza = map[string]NonzaHook{}
	}
	e.t.nonza[ns] = fn
}

// OnStop runs fn when the server stops (flush a queue, stop a goroutine).
func (e *Env) OnStop(fn func()) { e.check(); e.stops = append(e.stops, fn) }

// seq orders hooks of equal priority by registration across modules.
func (e *Env) seq() int {
	return len(e.t.send) + len(e.t.receive) + len(e.t.incoming) + len(e.t.presenceFns) + len(e.t.offline)
}

// undo removes what a failed Start registered outside the hook table.
func (e *Env) undo() {
	for _, r := range e.iqs {
		e.h.cfg.Router.HandleIQ(e.hostType, r.ns, r.targets, nil)
	}
	if e.h.cfg.Disco != nil {
		for _, f := range e.feats {
			e.h.cfg.Disco.RemoveFeature(e.hostType, f.targets, f.ns)
		}
	}
}
