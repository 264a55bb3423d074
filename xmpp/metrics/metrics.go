// Package metrics holds the counters and gauges the XMPP layer keeps about itself:
// authentications, stanzas in and out of client streams, sessions, routing drops,
// archive lookups and writes, stored offline messages.
//
// Design: the XMPP packages must not depend on node/ nor on an exporter, and their
// hot paths (one stanza) must stay at a few nanoseconds. So this package is plain
// atomics with no dependency: a feature resolves the counter for its host type once
// (a connection when its stream opens, a module per call through a sync.Map read)
// and then only does an atomic add. node/server owns the exposition: it reads a Set
// at scrape time and turns it into Prometheus metrics (node/server/metrics.go), one
// Set and one Prometheus registry per server, so in-process servers in tests never
// share counters. The metric names and labels are documented in docs/metrics.md.
//
// A component given no Set makes its own (New) and counts into it unseen; every
// method is safe on a nil *Counter and *Gauge too, so code may hold a nil one.
package metrics

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Counter is a monotonically increasing count.
type Counter struct{ v atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() {
	if c != nil {
		c.v.Add(1)
	}
}

// Add adds n.
func (c *Counter) Add(n uint64) {
	if c != nil {
		c.v.Add(n)
	}
}

// Value returns the count.
func (c *Counter) Value() uint64 {
	if c == nil {
		return 0
	}
	return c.v.Load()
}

// Gauge is a value that goes up and down.
type Gauge struct{ v atomic.Int64 }

// Add adds n (which may be negative).
func (g *Gauge) Add(n int64) {
	if g != nil {
		g.v.Add(n)
	}
}

// Inc adds one.
func (g *Gauge) Inc() { g.Add(1) }

// Dec subtracts one.
func (g *Gauge) Dec() { g.Add(-1) }

// Value returns the current value.
func (g *Gauge) Value() int64 {
	if g == nil {
		return 0
	}
	return g.v.Load()
}

// Vec is a family of counters or gauges, one per host type. The zero value is
// ready.
type Vec[T Counter | Gauge] struct{ m sync.Map } // host type -> *T

// CounterVec and GaugeVec are the two families.
type (
	CounterVec = Vec[Counter]
	GaugeVec   = Vec[Gauge]
)

// For returns the metric of hostType, creating it on first use. Hot paths call it
// once and keep the result, or rely on its lock-free read for known host types.
func (v *Vec[T]) For(hostType string) *T {
	if c, ok := v.m.Load(hostType); ok {
		return c.(*T)
	}
	c, _ := v.m.LoadOrStore(hostType, new(T))
	return c.(*T)
}

// Each calls fn for every host type with a metric, in host type order.
func (v *Vec[T]) Each(fn func(hostType string, m *T)) {
	for _, k := range sortedKeys(&v.m) {
		c, _ := v.m.Load(k)
		fn(k, c.(*T))
	}
}

func sortedKeys(m *sync.Map) []string {
	var keys []string
	m.Range(func(k, _ any) bool {
		keys = append(keys, k.(string))
		return true
	})
	sort.Strings(keys)
	return keys
}

// Set is every metric the XMPP layer keeps for one server. Fields are grouped by
// the package that updates them; docs/metrics.md gives their exported names.
type Set struct {
	// c2s (xmpp/c2s).
	AuthSucceeded CounterVec // successful SASL authentications
	AuthFailed    CounterVec // failed SASL authentications (each attempt)
	ElementsIn    CounterVec // stanzas received from bound clients
	ElementsOut   CounterVec // stanzas queued to bound clients
	ConnsAccepted Counter    // TCP connections accepted
	ConnsOpen     Gauge      // TCP connections open

	// router (xmpp/router).
	Sessions     GaugeVec   // sessions bound on this node
	NoRouteFound CounterVec // stanzas for a domain this service does not serve
	// StanzaDropped counts stanzas mod_domain_isolation dropped (xmpp/isolation),
	// by the recipient's host type.
	StanzaDropped CounterVec

	// mod_mam (xmpp/mam).
	MAMPMLookups    CounterVec // one-to-one archive queries
	MAMRoomLookups  CounterVec // MUC Light room archive queries
	MAMPMArchived   CounterVec // messages written to one-to-one archives
	MAMRoomArchived CounterVec // messages written to room archives

	// mod_offline (xmpp/offline).
	OfflineStored CounterVec // messages stored for offline users
}

// New returns an empty Set.
func New() *Set { return &Set{} }

// Or returns s, or a fresh Set when s is nil: for components whose metrics are
// optional.
func Or(s *Set) *Set {
	if s == nil {
		return New()
	}
	return s
}
