// Package moduletest runs modules in process for their tests: a bbolt store that
// applies mutations at once (as a one-node cluster does), a real router and module
// host, and sessions that behave as c2s connections do towards the hooks, recording
// what they are sent.
package moduletest

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/disco"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/router/routertest"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Store is a bbolt file that applies each mutation in its own transaction, rolling it
// back on a domain error (a correct Apply has written nothing then anyway).
type Store struct {
	db     *bolt.DB
	Writes atomic.Int64 // mutations applied without error

	mu       sync.Mutex // serialises Apply with its notifications, like the FSM
	watchers []func(store.Mutation)
	resets   []func()
}

// OnApplied implements module.Watcher.
func (s *Store) OnApplied(fn func(store.Mutation)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watchers = append(s.watchers, fn)
}

// OnReset implements module.Watcher. Reset calls the subscribers.
func (s *Store) OnReset(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resets = append(s.resets, fn)
}

// Reset tells the OnReset subscribers that the store was replaced, as a node does
// after installing a snapshot.
func (s *Store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fn := range s.resets {
		fn()
	}
}

// NewStore opens a store in a temporary directory.
func NewStore(t testing.TB) *Store {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Update(store.Init); err != nil {
		t.Fatal(err)
	}
	return &Store{db: db}
}

// View implements module.Reader.
func (s *Store) View(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

// Apply implements module.Writer.
func (s *Store) Apply(_ context.Context, m store.Mutation) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v any
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		v, err = m.Apply(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.Writes.Add(1)
	for _, fn := range s.watchers {
		fn(m)
	}
	return v, nil
}

// UserExists implements module.Accounts from the users in the store.
func (s *Store) UserExists(domain, user string) bool {
	ok := false
	_ = s.db.View(func(tx *bolt.Tx) error {
		_, ok = store.GetUserCreds(tx, domain, user)
		return nil
	})
	return ok
}

// Directory maps domains to host types; every domain counts as a static host.
type Directory map[string]string

// HostTypeOf implements module.Directory.
func (d Directory) HostTypeOf(domain string) (string, bool) {
	ht, ok := d[domain]
	return ht, ok
}

// IsStatic implements module.Directory.
func (d Directory) IsStatic(domain string) bool { _, ok := d[domain]; return ok }

// Incarnation implements module.Directory: every domain of the map is static.
func (d Directory) Incarnation(domain string) (uint64, bool) { _, ok := d[domain]; return 0, ok }

// Harness is a router, a module host and a store wired as node/server wires them.
type Harness struct {
	T      testing.TB
	Store  *Store
	Dir    Directory
	Router *router.Router
	Host   *module.Host
	Disco  *disco.Registry
}

// New builds a harness serving domains (domain → host type). disco#info and
// disco#items answer for every host type.
func New(t testing.TB, domains map[string]string) *Harness {
	t.Helper()
	return NewWith(t, Config{Domains: domains})
}

// Config is what NewWith varies.
type Config struct {
	Domains map[string]string // domain → host type
	// Store is the store (nil: a new one). Harnesses sharing one stand for the
	// nodes of a cluster, which see the same replicated data.
	Store *Store
	// Cluster is given to the modules (module.Config.Cluster); nil: none.
	Cluster module.Cluster
}

// NewWith is New with a given store and cluster.
func NewWith(t testing.TB, c Config) *Harness {
	t.Helper()
	st := c.Store
	if st == nil {
		st = NewStore(t)
	}
	h := &Harness{T: t, Store: st, Dir: Directory(c.Domains), Disco: disco.NewRegistry()}
	log := slog.New(slog.DiscardHandler)
	r, err := router.New(router.Config{
		Directory: h.Dir,
		Accounts:  h.Store,
		Presence:  func(s router.Session, el *xmlstream.Element) { h.Host.Presence(s, el) },
		Offline:   func(ht string, to jid.JID, el *xmlstream.Element) bool { return h.Host.Offline(ht, to, el) },
		Filters: []router.Filter{func(ht string, from, to jid.JID, el *xmlstream.Element) (bool, *xmlstream.Element) {
			return h.Host.Filter(ht, from, to, el)
		}},
		Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.Router = r
	disco.Register(r, "", disco.Config{Registry: h.Disco, Accounts: h.Store})
	h.Host, err = module.NewHost(module.Config{Router: r, Store: h.Store, Directory: h.Dir, Accounts: h.Store, Disco: h.Disco, Cluster: c.Cluster, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Host.Close)
	return h
}

// Start starts a module for a host type, failing the test on error.
func (h *Harness) Start(hostType string, m module.Module, opts module.Options) {
	h.T.Helper()
	if err := h.Host.Start(hostType, m, opts); err != nil {
		h.T.Fatal(err)
	}
}

// AddUser creates an account.
func (h *Harness) AddUser(domain, user string) {
	h.T.Helper()
	if _, err := h.Store.Apply(context.Background(), &store.AddUser{Domain: domain, User: user, Creds: "x", Static: true}); err != nil {
		h.T.Fatal(err)
	}
}

// Login binds a session for a full JID, as c2s does after resource binding.
func (h *Harness) Login(full string) *Session {
	h.T.Helper()
	j := jid.MustParse(full)
	ht, ok := h.Dir.HostTypeOf(j.Domain())
	if !ok {
		h.T.Fatalf("login %s: domain not served", full)
	}
	s := &Session{h: h, jid: j, hostType: ht, managed: h.Host.ManagesPresence(ht)}
	if err := h.Router.Bind(s); err != nil {
		h.T.Fatalf("bind %s: %v", full, err)
	}
	h.Host.SessionOpened(s)
	return s
}

// Session is a module.Session that records what it is delivered, after running the
// user-receive chain as a c2s connection does.
type Session struct {
	h        *Harness
	jid      jid.JID
	hostType string
	managed  bool
	pres     atomic.Pointer[presence]

	mu      sync.Mutex
	kv      map[any]any
	got     []*xmlstream.Element
	stops   []routertest.Stop
	discard bool
	scratch []byte
	count   int
}

type presence struct {
	el       *xmlstream.Element
	priority int
}

var _ module.Session = (*Session)(nil)

// JID implements router.Session.
func (s *Session) JID() jid.JID { return s.jid }

// HostType implements router.Session.
func (s *Session) HostType() string { return s.hostType }

// Deliver implements router.Session.
func (s *Session) Deliver(el *xmlstream.Element) bool {
	if el = s.h.Host.UserReceive(s, el); el == nil {
		return true
	}
	s.mu.Lock()
	s.count++
	if s.discard {
		// Serialise as c2s would, so benchmarks pay what a real session costs.
		s.scratch = el.AppendXML(s.scratch[:0], xmlstream.ClientNamespace)
	} else {
		s.got = append(s.got, el)
	}
	s.mu.Unlock()
	return true
}

// SetDiscard makes the session serialise what it receives and keep nothing, for
// benchmarks; Count still counts.
func (s *Session) SetDiscard(discard bool) {
	s.mu.Lock()
	s.discard = discard
	s.mu.Unlock()
}

// Count returns how many stanzas the session received.
func (s *Session) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Stop implements router.Session by recording the call.
func (s *Session) Stop(cond xmlstream.Condition, text string) {
	s.mu.Lock()
	s.stops = append(s.stops, routertest.Stop{Cond: cond, Text: text})
	s.mu.Unlock()
}

// Priority implements router.Prioritized as c2s does.
func (s *Session) Priority() (int, bool) {
	if !s.managed {
		return 0, true
	}
	if p := s.pres.Load(); p != nil {
		return p.priority, true
	}
	return 0, false
}

// Presence implements module.Session.
func (s *Session) Presence() *xmlstream.Element {
	if p := s.pres.Load(); p != nil {
		return p.el
	}
	return nil
}

// SetPresence implements module.Session.
func (s *Session) SetPresence(el *xmlstream.Element, priority int) {
	if el == nil {
		s.pres.Store(nil)
		return
	}
	s.pres.Store(&presence{el, priority})
}

// Value implements module.Session.
func (s *Session) Value(key any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kv[key]
}

// SetValue implements module.Session.
func (s *Session) SetValue(key, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if value == nil {
		delete(s.kv, key)
		return
	}
	if s.kv == nil {
		s.kv = map[any]any{}
	}
	s.kv[key] = value
}

// RemoteAddr implements module.Session.
func (s *Session) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5222}
}

// Send handles raw stanza XML as if the client had sent it: 'from' is stamped, the
// user-send chain runs, then the router routes it.
func (s *Session) Send(raw string) {
	s.h.T.Helper()
	s.SendElement(routertest.Parse(s.h.T, raw))
}

// SendElement is Send for a parsed stanza.
func (s *Session) SendElement(el *xmlstream.Element) {
	if el.Attr("from") == "" {
		el.SetAttr("from", s.jid.String())
	}
	// As c2s does: the stanza counts as handled once sent or answered, which is
	// also when work deferred with Env.BeforeHandled completes.
	defer s.h.Host.StanzaHandled(s)
	if s.h.Host.UserSend(s, el) {
		return
	}
	s.h.Router.Route(s, el)
}

// Logout ends the session as c2s does: unbind, then the close hooks.
func (s *Session) Logout(c module.Close) {
	s.h.Router.Unbind(s)
	s.h.Host.SessionClosed(s, c)
}

// Take returns what the session received since the last Take.
func (s *Session) Take() []*xmlstream.Element {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := s.got
	s.got = nil
	return got
}

// Stops returns the Stop calls so far.
func (s *Session) Stops() []routertest.Stop {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]routertest.Stop(nil), s.stops...)
}
