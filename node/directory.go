package node

import (
	"sort"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
)

// DomainInfo describes one domain as the directory sees it.
type DomainInfo struct {
	Name     string
	HostType string
	Status   store.DomainStatus
	Static   bool
}

// DomainEventKind says what happened to a domain.
type DomainEventKind int

const (
	DomainAdded DomainEventKind = iota + 1
	DomainEnabled
	DomainDisabled
	DomainDeleting
	DomainRemoved
)

// DomainEvent is sent to directory watchers after the change is applied on this node.
type DomainEvent struct {
	Domain string
	Kind   DomainEventKind
}

// Directory is the node-local view of which domains are served and by which host type:
// static hosts from the config plus the dynamic domains of the store, kept in memory
// and updated as raft entries apply, so a stream start or a routing decision never
// touches the disk. It is the equivalent of MongooseIM's mongoose_domain_core table.
type Directory struct {
	mu     sync.RWMutex
	static map[string]string
	dyn    map[string]dirEntry
	// hostTypes interns host type names so 100,000 domains share a handful of strings.
	hostTypes map[string]string

	watchMu  sync.Mutex
	watchers []func(DomainEvent)
}

type dirEntry struct {
	hostType string
	status   store.DomainStatus
	inc      uint64 // store.Domain.Incarnation
}

func newDirectory(staticHosts []string, hostTypes []string) *Directory {
	d := &Directory{
		static:    make(map[string]string, len(staticHosts)),
		dyn:       make(map[string]dirEntry),
		hostTypes: make(map[string]string, len(hostTypes)),
	}
	for _, h := range staticHosts {
		d.static[h] = h
	}
	for _, t := range hostTypes {
		d.hostTypes[t] = t
	}
	return d
}

func (d *Directory) intern(ht string) string {
	if s, ok := d.hostTypes[ht]; ok {
		return s
	}
	// A host type that is no longer configured still gets one shared copy.
	d.hostTypes[ht] = ht
	return ht
}

// load replaces the dynamic part from the store (start-up and snapshot restore).
func (d *Directory) load(tx *bolt.Tx) error {
	dyn := make(map[string]dirEntry, store.CountDomains(tx))
	d.mu.Lock()
	defer d.mu.Unlock()
	err := store.ForEachDomain(tx, func(dom store.Domain) error {
		dyn[dom.Name] = dirEntry{hostType: d.intern(dom.HostType), status: dom.Status, inc: dom.Incarnation}
		return nil
	})
	if err != nil {
		return err
	}
	d.dyn = dyn
	return nil
}

// HostTypeOf returns the host type of a domain that is in service: a static host or an
// enabled dynamic domain. Disabled, deleting and unknown domains are not served.
func (d *Directory) HostTypeOf(domain string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if ht, ok := d.static[domain]; ok {
		return ht, true
	}
	e, ok := d.dyn[domain]
	if !ok || e.status != store.StatusEnabled {
		return "", false
	}
	return e.hostType, true
}

// Incarnation identifies the tenant that holds domain now: static hosts have 0, a
// dynamic domain the number its latest addition got. ok is false for unknown domains
// and for domains being removed. A session records it when it opens; work done on
// its behalf later (as it closes) checks that the tenant is still the same.
func (d *Directory) Incarnation(domain string) (inc uint64, ok bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if _, ok := d.static[domain]; ok {
		return 0, true
	}
	e, ok := d.dyn[domain]
	if !ok || e.status == store.StatusDeleting {
		return 0, false
	}
	return e.inc, true
}

// IsStatic reports whether domain comes from general.hosts.
func (d *Directory) IsStatic(domain string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	_, ok := d.static[domain]
	return ok
}

// Get returns what the directory knows of a domain, whatever its status.
func (d *Directory) Get(domain string) (DomainInfo, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if ht, ok := d.static[domain]; ok {
		return DomainInfo{Name: domain, HostType: ht, Status: store.StatusEnabled, Static: true}, true
	}
	e, ok := d.dyn[domain]
	if !ok {
		return DomainInfo{}, false
	}
	return DomainInfo{Name: domain, HostType: e.hostType, Status: e.status}, true
}

// List returns every domain sorted by name; hostType "" means all.
func (d *Directory) List(hostType string) []DomainInfo {
	d.mu.RLock()
	out := make([]DomainInfo, 0, len(d.static)+len(d.dyn))
	for name, ht := range d.static {
		if hostType == "" || ht == hostType {
			out = append(out, DomainInfo{Name: name, HostType: ht, Status: store.StatusEnabled, Static: true})
		}
	}
	for name, e := range d.dyn {
		if _, shadowed := d.static[name]; shadowed {
			continue
		}
		if hostType == "" || e.hostType == hostType {
			out = append(out, DomainInfo{Name: name, HostType: e.hostType, Status: e.status})
		}
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Count returns the number of dynamic domains.
func (d *Directory) Count() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.dyn)
}

// Watch registers fn for domain events. fn runs in the raft apply goroutine, so it must
// not block: hand work to another goroutine.
func (d *Directory) Watch(fn func(DomainEvent)) {
	d.watchMu.Lock()
	d.watchers = append(d.watchers, fn)
	d.watchMu.Unlock()
}

func (d *Directory) notify(ev DomainEvent) {
	d.watchMu.Lock()
	ws := d.watchers
	d.watchMu.Unlock()
	for _, w := range ws {
		w(ev)
	}
}

// apply updates the directory for a mutation that applied without error; v is the
// mutation's result.
func (d *Directory) apply(m store.Mutation, v any) {
	var ev DomainEvent
	d.mu.Lock()
	switch m := m.(type) {
	case *store.AddDomain:
		// The incarnation is the store's (AddDomain's result), so every node agrees.
		inc, _ := v.(uint64)
		d.dyn[m.Name] = dirEntry{hostType: d.intern(m.HostType), status: store.StatusEnabled, inc: inc}
		ev = DomainEvent{Domain: m.Name, Kind: DomainAdded}
	case *store.SetDomainEnabled:
		e := d.dyn[m.Name]
		ev = DomainEvent{Domain: m.Name, Kind: DomainDisabled}
		e.status = store.StatusDisabled
		if m.Enabled {
			e.status = store.StatusEnabled
			ev.Kind = DomainEnabled
		}
		d.dyn[m.Name] = e
	case *store.MarkDomainDeleting:
		e := d.dyn[m.Name]
		e.status = store.StatusDeleting
		d.dyn[m.Name] = e
		ev = DomainEvent{Domain: m.Name, Kind: DomainDeleting}
	case *store.DeleteDomainRow:
		delete(d.dyn, m.Name)
		ev = DomainEvent{Domain: m.Name, Kind: DomainRemoved}
	}
	d.mu.Unlock()
	if ev.Kind != 0 {
		d.notify(ev)
	}
}
