package module

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/mongoose-go/mongoose-go/xmpp/disco"
	"github.com/mongoose-go/mongoose-go/xmpp/metrics"
)

// Config is what a Host gives its modules. Router, Store, Directory and Accounts are
// required.
type Config struct {
	Router    Router
	Store     Store
	Directory Directory
	Accounts  Accounts
	// Disco receives the modules' features; nil means they are not advertised (IQ
	// handlers still are, through the router).
	Disco *disco.Registry
	// Cluster reaches the other nodes (stream resumption across nodes); nil on a
	// node without a mesh.
	Cluster Cluster
	// Metrics receives the modules' counters (Env.Metrics); nil counts privately.
	Metrics *metrics.Set
	// BaseContext is the parent of Host.Context; nil means context.Background.
	BaseContext context.Context
	Logger      *slog.Logger
}

// Host runs modules per host type and dispatches the hook points to them. Modules are
// started before the server accepts clients; after that the hook tables are
// read-only, so dispatching takes no lock (one atomic load and a map lookup).
type Host struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex // serialises Start and Close
	stops  []func()
	closed bool
	tables atomic.Pointer[map[string]*table]

	sharedMu sync.Mutex
	shared   map[any]any
}

// Shared returns the value stored under key, calling init to create it on first use.
// A module that runs for several host types keeps state that covers every domain
// (an in-memory index of replicated data) here once, instead of once per host type.
// init runs under a lock held across Shared calls: it must not call Shared.
func (h *Host) Shared(key any, init func() any) any {
	h.sharedMu.Lock()
	defer h.sharedMu.Unlock()
	if v, ok := h.shared[key]; ok {
		return v
	}
	if h.shared == nil {
		h.shared = map[any]any{}
	}
	v := init()
	h.shared[key] = v
	return v
}

// table holds one host type's hooks. A published table is never changed: Start
// builds a copy and swaps the map.
type table struct {
	modules      []string
	presence     bool
	opened       []func(Session)
	closed       []func(Session, Close)
	send         []entry[SendHook]
	receive      []entry[ReceiveHook]
	incoming     []entry[IncomingHook]
	presenceFns  []entry[PresenceHook]
	offline      []entry[OfflineHook]
	availability []AvailabilityHook
	features     []FeaturesHook
	nonza        map[string]NonzaHook
	preauth      map[string]PreAuthIQHook
	lost         []LostHook                  // stream management (keep.go)
	prebind      map[string]PreBindNonzaHook // stream management (keep.go)
	handled      []func(Session)             // stream management (keep.go)
	rosterGet    []RosterGetHook             // rosterget.go
}

type entry[T any] struct {
	prio, seq int
	fn        T
}

func (t *table) clone() *table {
	c := *t
	c.modules = slices.Clone(t.modules)
	c.opened = slices.Clone(t.opened)
	c.closed = slices.Clone(t.closed)
	c.send = slices.Clone(t.send)
	c.receive = slices.Clone(t.receive)
	c.incoming = slices.Clone(t.incoming)
	c.presenceFns = slices.Clone(t.presenceFns)
	c.offline = slices.Clone(t.offline)
	c.availability = slices.Clone(t.availability)
	c.features = slices.Clone(t.features)
	c.nonza = maps.Clone(t.nonza)
	c.preauth = maps.Clone(t.preauth)
	c.lost = slices.Clone(t.lost)
	c.prebind = maps.Clone(t.prebind)
	c.handled = slices.Clone(t.handled)
	c.rosterGet = slices.Clone(t.rosterGet)
	return &c
}

func sortChain[T any](c []entry[T]) {
	slices.SortStableFunc(c, func(a, b entry[T]) int {
		return cmp.Or(cmp.Compare(a.prio, b.prio), cmp.Compare(a.seq, b.seq))
	})
}

// Sentinel errors.
var (
	ErrDuplicate = errors.New("module: already started for this host type")
	ErrClosed    = errors.New("module: host is closed")
	errConfig    = errors.New("module: Config needs Router, Store, Directory and Accounts")
)

// NewHost returns a Host with no module started.
func NewHost(cfg Config) (*Host, error) {
	if cfg.Router == nil || cfg.Store == nil || cfg.Directory == nil || cfg.Accounts == nil {
		return nil, errConfig
	}
	cfg.Metrics = metrics.Or(cfg.Metrics)
	h := &Host{cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	base := cfg.BaseContext
	if base == nil {
		base = context.Background()
	}
	h.ctx, h.cancel = context.WithCancel(base)
	empty := map[string]*table{}
	h.tables.Store(&empty)
	return h, nil
}

// Start starts module m for hostType with its options. On error nothing of the module
// stays registered.
func (h *Host) Start(hostType string, m Module, opts Options) error {
	if opts == nil {
		opts = NoOptions{}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	cur := *h.tables.Load()
	t := cur[hostType]
	if t == nil {
		t = &table{}
	}
	if slices.Contains(t.modules, m.Name) {
		return fmt.Errorf("%w: %s on %q", ErrDuplicate, m.Name, hostType)
	}
	draft := t.clone()
	env := &Env{h: h, hostType: hostType, name: m.Name, t: draft,
		log: h.log.With("module", m.Name, "host_type", hostType)}
	err := m.Start(env, opts)
	env.done = true
	if err != nil {
		env.undo()
		return fmt.Errorf("module %s for host type %q: %w", m.Name, hostType, err)
	}
	draft.modules = append(draft.modules, m.Name)
	sortChain(draft.send)
	sortChain(draft.receive)
	sortChain(draft.incoming)
	sortChain(draft.presenceFns)
	sortChain(draft.offline)
	next := maps.Clone(cur)
	next[hostType] = draft
	h.tables.Store(&next)
	h.stops = append(h.stops, env.stops...)
	return nil
}

// Close runs the modules' stop functions, last started first, and cancels Context.
func (h *Host) Close() {
	h.mu.Lock()
	stops := h.stops
	h.stops, h.closed = nil, true
	h.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		h.safely("stop", func() { stops[i]() })
	}
	h.cancel()
}

// Context is canceled when the host closes; hooks use it for store writes.
func (h *Host) Context() context.Context { return h.ctx }

// Router, Store, Directory, Accounts and Logger give a module's service (one object
// for all host types, such as the roster API of the admin REST interface) the same
// dependencies its Env gives it.
func (h *Host) Router() Router       { return h.cfg.Router }
func (h *Host) Store() Store         { return h.cfg.Store }
func (h *Host) Directory() Directory { return h.cfg.Directory }
func (h *Host) Accounts() Accounts   { return h.cfg.Accounts }
func (h *Host) Logger() *slog.Logger { return h.log }

// Enabled reports whether module name runs for hostType.
func (h *Host) Enabled(hostType, name string) bool {
	t := h.table(hostType)
	return t != nil && slices.Contains(t.modules, name)
}

// Modules returns the modules running for hostType, in start order.
func (h *Host) Modules(hostType string) []string {
	if t := h.table(hostType); t != nil {
		return slices.Clone(t.modules)
	}
	return nil
}

func (h *Host) table(hostType string) *table { return (*h.tables.Load())[hostType] }

// safely runs a hook, turning a panic into a logged error so that one broken module
// does not take a connection (or the process) down.
func (h *Host) safely(what string, fn func()) (panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			h.logPanic(what, p)
			panicked = true
		}
	}()
	fn()
	return false
}

func (h *Host) logPanic(what string, p any) {
	h.log.Error("module hook panicked", "hook", what, "panic", p, "stack", string(debug.Stack()))
}
