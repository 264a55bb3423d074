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
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"

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
}

// Node is a running node.
type Node struct {
	opts Options
	log  *slog.Logger

	fsm  *raftfsm.FSM
	raft *raft.Raft
	rs   *raftStores
	dir  *Directory

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	purgeMu  sync.Mutex
	purging  map[string]bool
	userHook func(domain, user string)
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

// Open starts a node: opens the store, loads the directory, starts raft and, when the
// data dir holds no raft state yet, bootstraps a one-node cluster.
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
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("node: data dir: %w", err)
	}
	n := &Node{
		opts:    opts,
		log:     opts.Logger,
		dir:     newDirectory(opts.StaticHosts, opts.HostTypes),
		purging: map[string]bool{},
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())

	fsm, err := raftfsm.Open(filepath.Join(opts.DataDir, StoreFile), raftfsm.Options{
		Logger:    opts.Logger,
		OnApplied: n.onApplied,
		OnRestore: n.reloadDirectory,
	})
	if err != nil {
		return nil, err
	}
	n.fsm = fsm
	if err := fsm.View(n.dir.load); err != nil {
		fsm.Close()
		return nil, fmt.Errorf("node: load domains: %w", err)
	}
	if err := n.startRaft(); err != nil {
		fsm.Close()
		return nil, err
	}
	n.wg.Add(1)
	go n.watchLeadership()
	return n, nil
}

// Close stops raft and closes the store. It does not leave the cluster.
func (n *Node) Close() error {
	n.cancel()
	var errs []error
	if n.raft != nil {
		if err := n.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
		}
	}
	n.wg.Wait()
	if n.rs != nil {
		errs = append(errs, n.rs.close())
	}
	errs = append(errs, n.fsm.Close())
	return errors.Join(errs...)
}

// Directory returns the node's domain directory.
func (n *Node) Directory() *Directory { return n.dir }

// Name returns the node name (its raft server id).
func (n *Node) Name() string { return n.opts.NodeName }

// View runs fn in a read transaction of the local store.
func (n *Node) View(fn func(tx *bolt.Tx) error) error { return n.fsm.View(fn) }

// OnUserRemoved registers a callback run on this node after an account is removed, so
// the XMPP layer can close that user's sessions.
func (n *Node) OnUserRemoved(fn func(domain, user string)) { n.userHook = fn }

func (n *Node) onApplied(batch []raftfsm.Applied) {
	for _, a := range batch {
		if a.Result.Err != nil {
			continue
		}
		n.dir.apply(a.Mutation)
		if m, ok := a.Mutation.(*store.RemoveUser); ok && n.userHook != nil {
			n.userHook(m.Domain, m.User)
		}
	}
}

func (n *Node) reloadDirectory() {
	if err := n.fsm.View(n.dir.load); err != nil {
		// The store was just written by Restore; failing to read it is fatal.
		panic(fmt.Sprintf("node: reload directory: %v", err))
	}
}

// applyTimeout bounds how long a write waits to be committed.
const applyTimeout = 10 * time.Second

// Apply proposes a mutation and waits until it is committed and applied on this node.
// The returned error is the mutation's domain error, ErrNoLeader, or a raft failure.
func (n *Node) Apply(ctx context.Context, m store.Mutation) (any, error) {
	data, err := raftfsm.Encode(m)
	if err != nil {
		return nil, err
	}
	timeout := applyTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if err := n.awaitLeadership(ctx, timeout); err != nil {
		return nil, err
	}
	f := n.raft.Apply(data, timeout)
	if err := f.Error(); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
			errors.Is(err, raft.ErrEnqueueTimeout):
			return nil, fmt.Errorf("%w (%v)", ErrNoLeader, err)
		case errors.Is(err, raft.ErrRaftShutdown):
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("node: apply: %w", err)
	}
	res, ok := f.Response().(raftfsm.Result)
	if !ok {
		// Only entries below the stored applied index have no response, and a new
		// proposal is never one of them.
		return nil, fmt.Errorf("node: apply: unexpected response %T", f.Response())
	}
	return res.Value, res.Err
}

// noLeaderWait bounds how long a write waits for an election to finish: a node that
// has just started, or a cluster that has just lost its leader, elects one within a
// few election timeouts, and failing the write in that window would only push a retry
// loop onto every caller.
const noLeaderWait = 5 * time.Second

// awaitLeadership returns when this node is the leader, or ErrNoLeader when another
// node leads (writes are not forwarded yet) or no leader appears in time.
func (n *Node) awaitLeadership(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(min(timeout, noLeaderWait))
	for {
		if n.raft.State() == raft.Leader {
			return nil
		}
		if addr, _ := n.raft.LeaderWithID(); addr != "" {
			return fmt.Errorf("%w: the leader is %s", ErrNoLeader, addr)
		}
		if time.Now().After(deadline) {
			return ErrNoLeader
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNoLeader, ctx.Err())
		case <-n.ctx.Done():
			return ErrClosed
		case <-time.After(10 * time.Millisecond):
		}
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
	addr, id := n.raft.LeaderWithID()
	idx, _ := n.fsm.AppliedIndex()
	return Status{
		Node:         n.opts.NodeName,
		RaftState:    n.raft.State().String(),
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
		if addr, _ := n.raft.LeaderWithID(); addr != "" {
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
func (n *Node) watchLeadership() {
	defer n.wg.Done()
	ch := n.raft.LeaderCh()
	for {
		select {
		case <-n.ctx.Done():
			return
		case isLeader := <-ch:
			if isLeader {
				n.resumePurges()
			}
		}
	}
}
