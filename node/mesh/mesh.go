// Package mesh is the node mesh: every node tells the others about the sessions
// bound on it as they open, change and close, and carries stanzas for sessions bound
// elsewhere to the node that holds them. The session table is replicated in memory
// (the way MongooseIM's CETS does it), never through raft: logging in costs no
// consensus round.
//
// Each pair of nodes keeps one mesh connection on the cluster port (TLS, cluster
// secret proved): the node whose name sorts lower dials, the other accepts. On every
// (re)connection both sides send their full table, then deltas; heartbeats every
// Heartbeat and a read timeout of Timeout declare a silent peer dead, and a dead
// peer's sessions leave the table at once. Which peers exist comes from the raft
// configuration, polled every PollInterval.
//
// Mesh implements router.Remote; the router (Local) receives what peers forward.
// It also carries calls between modules of different nodes (module.Cluster,
// call.go): stream management fetches a session to resume through them.
package mesh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mongoose-go/mongoose-go/node/cluster"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Defaults of Config.
const (
	DefaultHeartbeat     = time.Second
	DefaultTimeout       = 3 * time.Second
	DefaultPollInterval  = time.Second
	DefaultMaxQueueBytes = 32 << 20
	DefaultMaxFrameBytes = 8 << 20
)

// Port is the part of the cluster port the mesh uses; *cluster.Port implements it.
type Port interface {
	HandleMesh(h func(ctx context.Context, conn net.Conn, peer cluster.Peer))
	DialMesh(ctx context.Context, addr string) (net.Conn, cluster.Peer, error)
}

// Local is this node's router as the mesh drives it; *router.Router implements it.
type Local interface {
	RouteFromPeer(el *xmlstream.Element) error
	DeliverFromPeer(full jid.JID, el *xmlstream.Element) bool
	StopFromPeer(full jid.JID, cond xmlstream.Condition, text string) bool
}

// Config configures a Mesh. Port, Self and Members are required.
type Config struct {
	Port Port
	// Self is this node's name, as peers know it.
	Self string
	// Members returns the cluster's nodes (this one may be among them).
	Members func() []cluster.Peer
	// Heartbeat, Timeout, PollInterval, MaxQueueBytes and MaxFrameBytes default to
	// the constants above. MaxFrameBytes also bounds one forwarded stanza.
	Heartbeat     time.Duration
	Timeout       time.Duration
	PollInterval  time.Duration
	MaxQueueBytes int
	MaxFrameBytes int
	Logger        *slog.Logger
}

// Mesh is a node's side of the mesh.
type Mesh struct {
	cfg   Config
	log   *slog.Logger
	table *table
	loc   atomic.Pointer[localRef]
	gen   atomic.Uint64

	// pubMu serialises what this node publishes: the published table and the set
	// of connections that get its deltas, so a connection receives exactly the full
	// table followed by every later change.
	pubMu     sync.Mutex
	published map[jid.JID]pub
	// conns maps a peer's name to its connection; copy-on-write under pubMu, read
	// without a lock on the forwarding path.
	conns atomic.Pointer[map[string]*peerConn]

	hmu      sync.Mutex // guards handlers
	handlers map[string]Handler

	mu      sync.Mutex // guards dialers, known, started, closed
	dialers map[string]*dialer
	known   map[string]bool
	started bool
	closed  bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type localRef struct{ Local }

// pub is a session this node publishes.
type pub struct {
	s     router.Session
	prio  int
	avail bool
}

type dialer struct {
	addr   string
	cancel context.CancelFunc
}

var _ router.Remote = (*Mesh)(nil)

var errConfig = errors.New("mesh: Config needs Port, Self and Members")

// New returns a mesh that records this node's sessions but talks to no peer until
// Start.
func New(cfg Config) (*Mesh, error) {
	if cfg.Port == nil || cfg.Self == "" || cfg.Members == nil {
		return nil, errConfig
	}
	cfg.Heartbeat = cmpOr(cfg.Heartbeat, DefaultHeartbeat)
	cfg.Timeout = cmpOr(cfg.Timeout, DefaultTimeout)
	cfg.PollInterval = cmpOr(cfg.PollInterval, DefaultPollInterval)
	cfg.MaxQueueBytes = cmpOr(cfg.MaxQueueBytes, DefaultMaxQueueBytes)
	cfg.MaxFrameBytes = cmpOr(cfg.MaxFrameBytes, DefaultMaxFrameBytes)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Mesh{
		cfg:       cfg,
		log:       cfg.Logger,
		table:     newTable(),
		published: map[jid.JID]pub{},
		dialers:   map[string]*dialer{},
		known:     map[string]bool{},
	}
	m.conns.Store(&map[string]*peerConn{})
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Start connects the mesh: local receives what peers forward, incoming mesh
// connections are accepted, and peers are dialed as the membership says.
func (m *Mesh) Start(local Local) {
	m.loc.Store(&localRef{local})
	m.mu.Lock()
	if m.started || m.closed {
		m.mu.Unlock()
		return
	}
	m.started = true
	m.mu.Unlock()
	m.cfg.Port.HandleMesh(m.accept)
	m.wg.Add(1)
	go m.membershipLoop()
}

func (m *Mesh) local() Local {
	if l := m.loc.Load(); l != nil {
		return l.Local
	}
	return nil
}

// Close disconnects from every peer and stops the mesh's goroutines.
func (m *Mesh) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	for _, pc := range *m.conns.Load() {
		pc.close("mesh closed")
	}
	m.wg.Wait()
	return nil
}

// Peers returns the names of the peers connected now, sorted.
func (m *Mesh) Peers() []string {
	var out []string
	for name := range *m.conns.Load() {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// RemoteCount returns how many sessions of other nodes the table holds.
func (m *Mesh) RemoteCount() int { return int(m.table.count.Load()) }

// NodeCount returns how many sessions of one peer the table holds.
func (m *Mesh) NodeCount(node string) int { return m.table.nodeCount(node) }

// --- router.Remote ---

// Sessions implements router.Remote.
func (m *Mesh) Sessions(bare jid.JID) []router.RemoteSession { return m.table.lookup(bare) }

// SessionsOfDomain implements router.Remote.
func (m *Mesh) SessionsOfDomain(domain string) []router.RemoteSession {
	return m.table.ofDomain(domain)
}

func (m *Mesh) conn(node string) *peerConn { return (*m.conns.Load())[node] }

// Route implements router.Remote.
func (m *Mesh) Route(node string, el *xmlstream.Element) bool {
	pc := m.conn(node)
	return pc != nil && pc.frame(false, func(b []byte) []byte { return appendRoute(b, el) })
}

// Deliver implements router.Remote.
func (m *Mesh) Deliver(node string, full jid.JID, el *xmlstream.Element) bool {
	pc := m.conn(node)
	return pc != nil && pc.frame(false, func(b []byte) []byte { return appendDeliver(b, full.String(), el) })
}

// Stop implements router.Remote.
func (m *Mesh) Stop(node string, full jid.JID, cond xmlstream.Condition, text string) {
	if pc := m.conn(node); pc != nil {
		pc.frame(false, func(b []byte) []byte { return appendStop(b, full.String(), string(cond), text) })
	}
}

// Bound implements router.Remote.
func (m *Mesh) Bound(s router.Session, prio int, avail bool) {
	full := s.JID()
	m.pubMu.Lock()
	defer m.pubMu.Unlock()
	m.published[full] = pub{s: s, prio: prio, avail: avail}
	m.broadcastLocked(func(b []byte) []byte { return appendAdd(b, full.String(), s.HostType(), prio, avail) })
}

// Changed implements router.Remote.
func (m *Mesh) Changed(s router.Session, prio int, avail bool) {
	full := s.JID()
	m.pubMu.Lock()
	defer m.pubMu.Unlock()
	p, ok := m.published[full]
	if !ok || p.s != s || (p.prio == prio && p.avail == avail) {
		return
	}
	m.published[full] = pub{s: s, prio: prio, avail: avail}
	m.broadcastLocked(func(b []byte) []byte { return appendAdd(b, full.String(), s.HostType(), prio, avail) })
}

// Unbound implements router.Remote.
func (m *Mesh) Unbound(s router.Session) {
	full := s.JID()
	m.pubMu.Lock()
	defer m.pubMu.Unlock()
	if p, ok := m.published[full]; !ok || p.s != s {
		return
	}
	delete(m.published, full)
	m.broadcastLocked(func(b []byte) []byte { return appendRemove(b, full.String()) })
}

func (m *Mesh) broadcastLocked(fn func([]byte) []byte) {
	for _, pc := range *m.conns.Load() {
		pc.frame(false, fn)
	}
}

// --- connections ---

// accept serves a connection a peer dialed.
func (m *Mesh) accept(_ context.Context, conn net.Conn, peer cluster.Peer) {
	m.serve(conn, peer)
}

// serve runs one connection until it fails: register it (full table out), read
// the peer's frames, then drop what the peer published over it.
func (m *Mesh) serve(conn net.Conn, peer cluster.Peer) {
	pc := newPeerConn(m, peer.Name, conn)
	if !m.register(pc) {
		conn.Close()
		return
	}
	m.log.Info("mesh: connected", "peer", peer.Name, "address", peer.Addr)
	err := pc.readLoop()
	pc.close("")
	m.unregister(pc)
	n := m.table.dropNode(pc.node, pc.gen+1)
	switch {
	case m.ctx.Err() != nil:
	case isTimeout(err):
		m.log.Warn("mesh: peer silent, disconnected", "peer", pc.node, "timeout", m.cfg.Timeout, "sessions_dropped", n)
	case pc.closeReason() != "":
		m.log.Warn("mesh: disconnected", "peer", pc.node, "reason", pc.closeReason(), "sessions_dropped", n)
	case quietErr(err):
		m.log.Info("mesh: disconnected", "peer", pc.node, "sessions_dropped", n)
	default:
		m.log.Warn("mesh: disconnected", "peer", pc.node, "err", err, "sessions_dropped", n)
	}
}

// register makes pc the connection with its peer (closing an older one) and queues
// the hello and the full table, under pubMu so no delta slips between.
func (m *Mesh) register(pc *peerConn) bool {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false
	}
	// Counted under mu, so Close's Wait cannot start before this Add.
	m.wg.Add(1)
	m.mu.Unlock()

	m.pubMu.Lock()
	// Generations follow registration order, so the newest connection always
	// carries the highest one.
	pc.gen = m.gen.Add(1)
	old := m.conn(pc.node)
	next := make(map[string]*peerConn, len(*m.conns.Load())+1)
	for k, v := range *m.conns.Load() {
		next[k] = v
	}
	next[pc.node] = pc
	m.conns.Store(&next)
	pc.frame(true, appendHello)
	for full, p := range m.published {
		pc.frame(true, func(b []byte) []byte { return appendAdd(b, full.String(), p.s.HostType(), p.prio, p.avail) })
	}
	pc.frame(true, func(b []byte) []byte { return appendEmpty(b, frameSynced) })
	m.pubMu.Unlock()
	if old != nil {
		old.close("replaced by a new connection")
	}
	go pc.writeLoop()
	return true
}

func (m *Mesh) unregister(pc *peerConn) {
	m.pubMu.Lock()
	defer m.pubMu.Unlock()
	cur := *m.conns.Load()
	if cur[pc.node] != pc {
		return
	}
	next := make(map[string]*peerConn, len(cur))
	for k, v := range cur {
		if k != pc.node {
			next[k] = v
		}
	}
	m.conns.Store(&next)
}

// membershipLoop keeps one dialer per peer this node should dial, and cuts peers
// that left the configuration.
func (m *Mesh) membershipLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.PollInterval)
	defer t.Stop()
	for {
		m.reconcile()
		select {
		case <-m.ctx.Done():
			m.mu.Lock()
			for name, d := range m.dialers {
				d.cancel()
				delete(m.dialers, name)
			}
			m.mu.Unlock()
			return
		case <-t.C:
		}
	}
}

func (m *Mesh) reconcile() {
	members := m.cfg.Members()
	if len(members) == 0 {
		// No configuration to go by (raft restarting, or this node left): keep
		// what is connected rather than cut everyone on a transient error.
		return
	}
	want := map[string]string{}
	for _, p := range members {
		if p.Name != m.cfg.Self && p.Name != "" {
			want[p.Name] = p.Addr
		}
	}
	var cut []string
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	for name, addr := range want {
		m.known[name] = true
		// One connection per pair: the lower name dials.
		if m.cfg.Self > name {
			continue
		}
		if d := m.dialers[name]; d != nil {
			if d.addr == addr {
				continue
			}
			d.cancel()
		}
		ctx, cancel := context.WithCancel(m.ctx)
		m.dialers[name] = &dialer{addr: addr, cancel: cancel}
		m.wg.Add(1)
		go m.dialLoop(ctx, name, addr)
	}
	for name, d := range m.dialers {
		if _, ok := want[name]; !ok {
			d.cancel()
			delete(m.dialers, name)
		}
	}
	// A peer that was a member and no longer is (removed, left) is cut; one not yet
	// seen may be a joiner whose membership has not reached this node yet.
	for name := range m.known {
		if _, ok := want[name]; !ok {
			delete(m.known, name)
			cut = append(cut, name)
		}
	}
	m.mu.Unlock()
	for _, name := range cut {
		if pc := m.conn(name); pc != nil {
			pc.close("no longer a cluster member")
		}
	}
}

// dialLoop keeps a connection with one peer until ctx ends.
func (m *Mesh) dialLoop(ctx context.Context, name, addr string) {
	defer m.wg.Done()
	const minBackoff = 50 * time.Millisecond
	backoff := minBackoff
	for ctx.Err() == nil {
		conn, peer, err := m.cfg.Port.DialMesh(ctx, addr)
		switch {
		case err != nil:
			m.log.Debug("mesh: dial failed", "peer", name, "address", addr, "err", err)
		case peer.Name != name:
			m.log.Warn("mesh: peer answered with another name", "address", addr, "want", name, "got", peer.Name)
			conn.Close()
		default:
			stop := context.AfterFunc(ctx, func() { conn.Close() })
			m.serve(conn, peer)
			stop()
			backoff = minBackoff
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, m.cfg.PollInterval)
	}
}

// String describes the mesh for logs.
func (m *Mesh) String() string {
	return fmt.Sprintf("mesh %s: peers %v, %d remote sessions", m.cfg.Self, m.Peers(), m.RemoteCount())
}
