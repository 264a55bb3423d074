package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/raft"

	"github.com/mongoose-go/mongoose-go/node/cluster"
	"github.com/mongoose-go/mongoose-go/raftfsm"
)

// Membership follows MongooseIM's join_cluster / leave_cluster / remove_from_cluster:
// a new node asks any member to add it; the member redirects to the leader, which adds
// it as a raft voter; the new node then receives the state by snapshot and log.

const defaultJoinTimeout = 10 * time.Second

// membershipTimeout bounds one raft configuration change on the leader.
const membershipTimeout = 10 * time.Second

type joinRequest struct {
	Name string
	Addr string
	// HasState: the joiner already holds raft state (of some cluster).
	HasState bool
}

type joinResponse struct {
	// Index is the configuration change's raft index.
	Index uint64
}

type removeRequest struct {
	Name string
}

// joinTargets drops this node's own address and duplicates from a join list: a config
// shared by every node may list all of them.
func (n *Node) joinTargets(addrs []string) []string {
	var out []string
	for _, a := range addrs {
		if a == "" || a == n.port.Addr() || a == n.opts.RaftAddr || slices.Contains(out, a) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// joinVia asks the members at addrs, in turn and again until ctx ends, to add this node.
// A refusal or a secret mismatch ends it at once: retrying cannot change the answer.
func (n *Node) joinVia(ctx context.Context, addrs []string) error {
	req := joinRequest{Name: n.opts.NodeName, Addr: n.port.Addr(), HasState: n.raftp.Load().LastIndex() > 0}
	backoff := 100 * time.Millisecond
	var last error
	start := time.Now()
	for {
		for _, a := range addrs {
			var resp joinResponse
			err := n.callLeader(ctx, a, opJoin, req, &resp)
			if err == nil {
				n.log.Info("joined the cluster", "via", a, "node", n.opts.NodeName, "address", req.Addr)
				return nil
			}
			if errors.Is(err, ErrRefused) || errors.Is(err, cluster.ErrSecretMismatch) || errors.Is(err, cluster.ErrNotClusterPort) {
				return fmt.Errorf("node: join the cluster via %s: %w", a, err)
			}
			last = fmt.Errorf("%s: %w", a, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w within %s: %w", ErrJoinFailed, time.Since(start).Round(time.Second), last)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// handleJoin runs on the member a joiner asked; only the leader changes the
// configuration, others answer with its address.
func (n *Node) handleJoin(ctx context.Context, _ cluster.Peer, decode func(any) error) (any, error) {
	var req joinRequest
	if err := decode(&req); err != nil {
		return nil, err
	}
	r := n.raftp.Load()
	if r.State() != raft.Leader || n.left.Load() {
		return nil, n.notLeader()
	}
	if req.Name == "" || req.Addr == "" {
		return nil, toRemote(refusedf("a joining node must have a name and an address"))
	}
	cf := r.GetConfiguration()
	if err := cf.Error(); err != nil {
		return nil, toRemote(fmt.Errorf("%w (%v)", ErrNoLeader, err))
	}
	for _, s := range cf.Configuration().Servers {
		switch {
		case string(s.ID) == req.Name && string(s.Address) != req.Addr:
			return nil, toRemote(refusedf("node name %q already in use by the member at %s", req.Name, s.Address))
		case string(s.ID) != req.Name && string(s.Address) == req.Addr:
			return nil, toRemote(refusedf("address %s already belongs to node %q", req.Addr, s.ID))
		case string(s.ID) == req.Name && s.Suffrage == raft.Voter:
			// Same name, same address: a retried join, or a node restarted with --join.
			return joinResponse{Index: cf.Index()}, nil
		}
	}
	if req.HasState {
		return nil, toRemote(refusedf("node %q holds the raft state of another cluster; empty its data dir, "+
			"or run `cluster join --force` on it to discard that state", req.Name))
	}
	timeout := membershipTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	f := r.AddVoter(raft.ServerID(req.Name), raft.ServerAddress(req.Addr), 0, timeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return nil, n.notLeader()
		}
		return nil, toRemote(fmt.Errorf("%w (adding %s: %v)", ErrNoLeader, req.Name, err))
	}
	n.log.Info("node joined the cluster", "node", req.Name, "address", req.Addr)
	return joinResponse{Index: f.Index()}, nil
}

func (n *Node) handleRemove(ctx context.Context, _ cluster.Peer, decode func(any) error) (any, error) {
	var req removeRequest
	if err := decode(&req); err != nil {
		return nil, err
	}
	r := n.raftp.Load()
	if r.State() != raft.Leader || n.left.Load() {
		return nil, n.notLeader()
	}
	if req.Name == n.opts.NodeName {
		return nil, toRemote(refusedf("node %q is the leader: run `cluster leave` on it, or stop it so that another node is elected", req.Name))
	}
	cf := r.GetConfiguration()
	if err := cf.Error(); err != nil {
		return nil, toRemote(fmt.Errorf("%w (%v)", ErrNoLeader, err))
	}
	if !slices.ContainsFunc(cf.Configuration().Servers, func(s raft.Server) bool { return string(s.ID) == req.Name }) {
		return nil, toRemote(fmt.Errorf("%w: %q", ErrUnknownNode, req.Name))
	}
	timeout := membershipTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if err := r.RemoveServer(raft.ServerID(req.Name), 0, timeout).Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return nil, n.notLeader()
		}
		return nil, toRemote(fmt.Errorf("%w (removing %s: %v)", ErrNoLeader, req.Name, err))
	}
	n.log.Info("node removed from the cluster", "node", req.Name)
	return nil, nil
}

// JoinCluster makes this running node join the cluster of the member at one of addrs,
// discarding this node's own state: the cluster's state replaces it. That is only done
// without force when nothing is lost: the node is a one-node cluster holding no data
// (just started), or it has left its cluster. It returns once the leader has added this
// node as a voter; the state arrives in the background (see ClusterStatus).
func (n *Node) JoinCluster(ctx context.Context, addrs []string, force bool) error {
	addrs = n.joinTargets(addrs)
	if len(addrs) == 0 {
		return refusedf("no address to join other than this node's own (%s)", n.port.Addr())
	}
	ctx, cancel := mergeCancel(ctx, n.ctx)
	defer cancel()
	n.lifeMu.Lock()
	defer n.lifeMu.Unlock()

	// Ask first, change nothing until the target has answered as a member of a
	// cluster that can take this node.
	target, err := n.peerStatus(ctx, addrs)
	if err != nil {
		return err
	}
	for _, s := range target.Servers {
		if s.Name == n.opts.NodeName {
			if s.Address == n.port.Addr() {
				return nil // already a member
			}
			return refusedf("node name %q already in use by the member at %s", s.Name, s.Address)
		}
	}
	if !force && !n.left.Load() {
		if err := n.checkDiscardable(); err != nil {
			return err
		}
	}
	n.log.Warn("discarding this node's state to join another cluster", "via", addrs, "force", force)
	if err := n.resetRaft(); err != nil {
		return err
	}
	jctx, jcancel := context.WithTimeout(ctx, n.opts.JoinTimeout)
	defer jcancel()
	return n.joinVia(jctx, addrs)
}

// checkDiscardable refuses to throw away a node that is part of a real cluster or
// holds data.
func (n *Node) checkDiscardable() error {
	cf := n.raftp.Load().GetConfiguration()
	if err := cf.Error(); err == nil && len(cf.Configuration().Servers) > 1 {
		return refusedf("this node is a member of a %d-node cluster: run `cluster leave` on it first, "+
			"or use --force to discard its state", len(cf.Configuration().Servers))
	}
	data, err := n.storeHasData()
	if err != nil {
		return err
	}
	if data {
		return refusedf("this node holds data (%d dynamic domains) of its own cluster, which joining another "+
			"cluster discards: use --force to discard it", n.dir.Count())
	}
	return nil
}

// resetRaft stops raft, deletes its log and snapshots, empties the store, and starts
// raft again with no configuration, ready to be added to a cluster. Runs under lifeMu.
func (n *Node) resetRaft() error {
	if err := n.stopRaft(); err != nil {
		n.log.Warn("stopping raft", "err", err)
	}
	if err := os.RemoveAll(filepath.Join(n.opts.DataDir, RaftDir)); err != nil {
		return fmt.Errorf("node: remove raft state: %w", err)
	}
	if err := n.wipeStore(); err != nil {
		return err
	}
	n.visible.Store(0)
	n.left.Store(false)
	if _, err := n.startRaft(false); err != nil {
		return err
	}
	return nil
}

// wipeStore replaces the store with an empty one through the FSM's own restore path,
// which swaps the file safely under readers and reloads the directory.
func (n *Node) wipeStore() error {
	tmp := filepath.Join(n.opts.DataDir, "state.empty.db")
	os.Remove(tmp)
	defer os.Remove(tmp)
	db, err := raftfsm.OpenDB(tmp, false)
	if err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("node: empty store: %w", err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		return fmt.Errorf("node: empty store: %w", err)
	}
	return n.fsm.Restore(f)
}

// ErrLastNode: the only node of a cluster cannot leave it.
var ErrLastNode = errors.New("the only node of a cluster cannot leave it")

// LeaveCluster removes this node from its cluster. A leader hands leadership to
// another node first. Afterwards the node serves no writes (ErrNoLeader) and keeps its
// data; `cluster join` can bring it into a cluster again.
func (n *Node) LeaveCluster(ctx context.Context) error {
	ctx, cancel := mergeCancel(ctx, n.ctx)
	defer cancel()
	n.lifeMu.Lock()
	defer n.lifeMu.Unlock()
	if n.left.Load() {
		return nil
	}
	r := n.raftp.Load()
	cf := r.GetConfiguration()
	if err := cf.Error(); err != nil {
		return fmt.Errorf("node: leave: %w", err)
	}
	if len(cf.Configuration().Servers) <= 1 {
		return fmt.Errorf("%w: %w", ErrRefused, ErrLastNode)
	}
	if r.State() == raft.Leader {
		if err := r.LeadershipTransfer().Error(); err != nil {
			return fmt.Errorf("%w (leadership transfer: %v)", ErrNoLeader, err)
		}
		if err := n.waitOtherLeader(ctx); err != nil {
			return err
		}
	}
	if err := n.callLeader(ctx, "", opRemove, removeRequest{Name: n.opts.NodeName}, nil); err != nil {
		return fmt.Errorf("node: leave: %w", err)
	}
	n.left.Store(true)
	n.log.Info("left the cluster", "node", n.opts.NodeName)
	// A removed node that kept running raft would call elections nobody answers.
	return n.stopRaft()
}

func (n *Node) waitOtherLeader(ctx context.Context) error {
	for {
		if _, id := n.raftp.Load().LeaderWithID(); id != "" && string(id) != n.opts.NodeName {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNoLeader, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// RemoveNode removes another node (typically a dead one) from the cluster.
func (n *Node) RemoveNode(ctx context.Context, name string) error {
	if name == n.opts.NodeName {
		return refusedf("node %q is this node: run `cluster leave` to remove it", name)
	}
	ctx, cancel := mergeCancel(ctx, n.ctx)
	defer cancel()
	if _, ok := ctx.Deadline(); !ok {
		var c context.CancelFunc
		ctx, c = context.WithTimeout(ctx, membershipTimeout)
		defer c()
	}
	return n.callLeader(ctx, "", opRemove, removeRequest{Name: name}, nil)
}

// mergeCancel returns a context of a that also ends when b does.
func mergeCancel(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(a)
	stop := context.AfterFunc(b, func() { cancel(ErrClosed) })
	return ctx, func() { stop(); cancel(context.Canceled) }
}
