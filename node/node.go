// Package node is one running mongoose-go node: it owns the store file, the raft
// instance that replicates it, the in-memory domain directory, and the operations
// (domains, users) that the admin API, the CLI and the XMPP layer call.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/node/cluster"
	"github.com/mongoose-go/mongoose-go/raftfsm"
	"github.com/mongoose-go/mongoose-go/store"
)

// AuthPolicy is the part of a host type's auth config that account writes need.
type AuthPolicy struct {
	// PlainPasswords stores passwords as they are (password.format = "plain").
	PlainPasswords bool
	// Hashes are the SCRAM hash names (sha, sha224, sha256, sha384, sha512).
	Hashes     []string
	Iterations int
	// MaxUsers is auth.max_users_per_domain; 0 means no limit.
	MaxUsers int
}

// Options configure a node.
type Options struct {
	NodeName string
	DataDir  string
	// RaftAddr is the cluster address to listen on ("127.0.0.1:0" picks a port).
	RaftAddr string
	// Advertise is the address other nodes dial; empty means the bound address.
	Advertise   string
	StaticHosts []string
	HostTypes   []string
	// Auth returns the account policy of a host type; nil means SCRAM defaults.
	Auth   func(hostType string) AuthPolicy
	Logger *slog.Logger
	// PurgeChunk bounds how many keys one purge entry deletes (default 1000).
	PurgeChunk int
	// Join lists members' cluster addresses. A node whose data dir holds no raft state
	// asks them to add it instead of bootstrapping; a node with state ignores it.
	Join []string
	// JoinTimeout bounds joining at start (default 10 s).
	JoinTimeout time.Duration
	// Secret is the cluster secret every peer proves on the cluster port.
	Secret string
	// Raft overrides raft timings (tests).
	Raft RaftTuning
}

// Node is a running node.
type Node struct {
	opts Options
	log  *slog.Logger

	fsm  *raftfsm.FSM
	port *cluster.Port
	dir  *Directory

	// raftp is swapped when the node restarts raft to join another cluster.
	raftp atomic.Pointer[raft.Raft]
	// stopped holds each running raft instance's shutdown channel (raft.go).
	stoppedMu sync.Mutex
	stopped   map[*raft.Raft]chan struct{}
	// lifeMu serialises what starts and stops raft: join, leave, close. rs and the
	// leadership watcher belong to it.
	lifeMu    sync.Mutex
	rs        *raftStores
	watchStop chan struct{}
	watchDone chan struct{}
	// left is set once this node has left its cluster; it then serves no writes.
	left atomic.Bool
	// restores counts snapshot installs (tests check that catch-up used one).
	restores  atomic.Int64
	closeOnce sync.Once
	closeErr  error

	// visible is the last raft index applied with its effects visible to readers;
	// appliedSig is closed and replaced whenever it moves.
	visible    atomic.Uint64
	appliedMu  sync.Mutex
	appliedSig chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	purgeMu sync.Mutex
	purging map[string]bool
	// purgeFault, set only by tests, fails a purge step the way a broken module's
	// remove_domain handler does in MongooseIM's removal_stops_if_handler_fails.
	purgeFault atomic.Pointer[func(domain, step string) error]
	// beforePurge is set by the XMPP layer (BeforePurge).
	beforePurge atomic.Pointer[func(ctx context.Context, domain string)]

	// watchMu guards the OnApplied and OnReset subscribers, which modules add while
	// the FSM already applies entries.
	watchMu  sync.RWMutex
	watchers []func(store.Mutation)
	resets   []func()
}

// Errors that callers match with errors.Is. Texts are MongooseIM's where it has one.
var (
	ErrNoLeader        = errors.New("No leader in the cluster, try again later")
	ErrStatic          = errors.New("Domain is static")
	ErrUnknownHostType = errors.New("Unknown host type")
	ErrInvalidDomain   = errors.New("Invalid domain name")
	ErrInvalidUser     = errors.New("Invalid user name")
	ErrEmptyPassword   = errors.New("Empty password")
	ErrClosed          = errors.New("node is shut down")
)

// StoreFile is the name of the state file inside the data dir.
const StoreFile = "state.db"

// Open starts a node: opens the store, loads the directory, opens the cluster port and
// starts raft. A data dir without raft state bootstraps a one-node cluster, or, when
// opts.Join lists members, joins theirs (failing after opts.JoinTimeout).
func Open(opts Options) (*Node, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.NodeName == "" {
		return nil, errors.New("node: node name is empty")
	}
	if opts.PurgeChunk <= 0 {
		opts.PurgeChunk = 1000
	}
	if opts.JoinTimeout <= 0 {
		opts.JoinTimeout = defaultJoinTimeout
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("node: data dir: %w", err)
	}
	n := &Node{
		opts:       opts,
		log:        opts.Logger,
		dir:        newDirectory(opts.StaticHosts, opts.HostTypes),
		purging:    map[string]bool{},
		appliedSig: make(chan struct{}),
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())

	fsm, err := raftfsm.Open(filepath.Join(opts.DataDir, StoreFile), raftfsm.Options{
		Logger:    opts.Logger,
		OnApplied: n.onApplied,
		OnRestore: n.onRestore,
	})
	if err != nil {
		return nil, err
	}
	n.fsm = fsm
	if err := fsm.View(n.dir.load); err != nil {
		fsm.Close()
		return nil, fmt.Errorf("node: load domains: %w", err)
	}
	idx, _ := fsm.AppliedIndex()
	n.visible.Store(idx)
	n.port, err = cluster.Listen(cluster.Config{
		Listen:    opts.RaftAddr,
		Advertise: opts.Advertise,
		Secret:    opts.Secret,
		DataDir:   opts.DataDir,
		NodeName:  opts.NodeName,
		Logger:    opts.Logger,
	})
	if err != nil {
		fsm.Close()
		return nil, fmt.Errorf("node: %w", err)
	}
	join := n.joinTargets(opts.Join)
	n.lifeMu.Lock()
	has, err := n.startRaft(len(join) == 0)
	n.lifeMu.Unlock()
	if err != nil {
		n.Close()
		return nil, err
	}
	// Handlers go in once raft runs: they all consult it.
	n.registerRPC()
	switch {
	case has && len(join) > 0:
		n.log.Info("cluster join ignored: this node already has raft state", "join", opts.Join)
	case !has && len(join) > 0:
		ctx, cancel := context.WithTimeout(n.ctx, opts.JoinTimeout)
		err := n.joinVia(ctx, join)
		cancel()
		if err != nil {
			n.Close()
			return nil, err
		}
	}
	return n, nil
}

// Close stops raft, the cluster port and the store. It does not leave the cluster.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.cancel()
		n.lifeMu.Lock()
		errs := []error{n.stopRaft()}
		n.lifeMu.Unlock()
		errs = append(errs, n.port.Close())
		n.wg.Wait()
		errs = append(errs, n.fsm.Close())
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// Directory returns the node's domain directory.
func (n *Node) Directory() *Directory { return n.dir }

// Name returns the node name (its raft server id).
func (n *Node) Name() string { return n.opts.NodeName }

// View runs fn in a read transaction of the local store.
func (n *Node) View(fn func(tx *bolt.Tx) error) error { return n.fsm.View(fn) }

// OnApplied registers fn to run on this node after every mutation that committed
// without error, in commit order, before the Apply that proposed it returns (so a
// writer reads its own write from an index kept by fn). fn runs in the FSM goroutine:
// it must be quick and must not Apply. Modules use it for in-memory views of
// replicated data, such as mod_blocking's block lists.
func (n *Node) OnApplied(fn func(store.Mutation)) {
	n.watchMu.Lock()
	defer n.watchMu.Unlock()
	n.watchers = append(n.watchers, fn)
}

// OnReset registers fn to run after a snapshot replaced the whole store: views kept
// by OnApplied subscribers must be rebuilt.
func (n *Node) OnReset(fn func()) {
	n.watchMu.Lock()
	defer n.watchMu.Unlock()
	n.resets = append(n.resets, fn)
}

func (n *Node) onApplied(batch []raftfsm.Applied) {
	n.watchMu.RLock()
	watchers := n.watchers
	n.watchMu.RUnlock()
	for _, a := range batch {
		if a.Result.Err != nil {
			continue
		}
		n.dir.apply(a.Mutation, a.Result.Value)
		for _, fn := range watchers {
			fn(a.Mutation)
		}
	}
}

func (n *Node) onRestore() {
	n.restores.Add(1)
	if err := n.fsm.View(n.dir.load); err != nil {
		// The store was just written by Restore; failing to read it is fatal.
		panic(fmt.Sprintf("node: reload directory: %v", err))
	}
	n.watchMu.RLock()
	resets := n.resets
	n.watchMu.RUnlock()
	for _, fn := range resets {
		fn()
	}
}

// Status is a node's view of itself and the cluster.
type Status struct {
	Node         string `json:"node"`
	RaftState    string `json:"raft_state"`
	Leader       string `json:"leader"`
	LeaderAddr   string `json:"leader_address"`
	AppliedIndex uint64 `json:"applied_index"`
	Domains      int    `json:"dynamic_domains"`
}

// Status reports raft state, leader and applied index.
func (n *Node) Status() Status {
	r := n.raftp.Load()
	addr, id := r.LeaderWithID()
	idx := n.visible.Load()
	state := r.State().String()
	if n.left.Load() {
		state = "Left"
	}
	return Status{
		Node:         n.opts.NodeName,
		RaftState:    state,
		Leader:       string(id),
		LeaderAddr:   string(addr),
		AppliedIndex: idx,
		Domains:      n.dir.Count(),
	}
}

// WaitLeader blocks until the cluster has a leader or ctx ends.
func (n *Node) WaitLeader(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if addr, _ := n.raftp.Load().LeaderWithID(); addr != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNoLeader, ctx.Err())
		case <-t.C:
		}
	}
}

// watchLeadership resumes unfinished domain removals whenever this node becomes leader,
// so a removal survives the crash of the node that started it.
func (n *Node) watchLeadership(r *raft.Raft, stop, done chan struct{}) {
	defer close(done)
	ch := r.LeaderCh()
	for {
		select {
		case <-stop:
			return
		case isLeader := <-ch:
			if isLeader {
				n.resumePurges()
			}
		}
	}
}

// startWatcher and stopWatcher run under lifeMu, around each raft instance.
func (n *Node) startWatcher(r *raft.Raft) {
	n.watchStop, n.watchDone = make(chan struct{}), make(chan struct{})
	go n.watchLeadership(r, n.watchStop, n.watchDone)
}

func (n *Node) stopWatcher() {
	if n.watchStop == nil {
		return
	}
	close(n.watchStop)
	<-n.watchDone
	n.watchStop, n.watchDone = nil, nil
}
