package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"

	"github.com/hashicorp/raft"

	"github.com/mongoose-go/mongoose-go/node/cluster"
	"github.com/mongoose-go/mongoose-go/raftfsm"
	"github.com/mongoose-go/mongoose-go/store"
)

// applyTimeout bounds how long a write waits to be committed.
const applyTimeout = 10 * time.Second

// noLeaderWait bounds how long a write waits for an election to finish: a node that
// has just started, or a cluster that has just lost its leader, elects one within a
// few election timeouts, and failing the write in that window would only push a retry
// loop onto every caller.
const noLeaderWait = 5 * time.Second

// Apply proposes a mutation and waits until it is committed and applied on this node,
// so a read on this node right after sees it. A follower forwards the mutation to the
// leader over the cluster port. The returned error is the mutation's domain error,
// ErrNoLeader when the cluster has no leader (or lost it mid-write), or ErrClosed.
func (n *Node) Apply(ctx context.Context, m store.Mutation) (any, error) {
	data, err := raftfsm.Encode(m)
	if err != nil {
		return nil, err
	}
	timeout := applyTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	giveUp := time.Now().Add(min(timeout, noLeaderWait))
	var why error
	for {
		if n.left.Load() {
			return nil, fmt.Errorf("%w: this node has left the cluster", ErrNoLeader)
		}
		r := n.raftp.Load()
		var (
			v     any
			retry bool
		)
		if r.State() == raft.Leader {
			dl, _ := ctx.Deadline()
			v, retry, err = n.applyHere(r, data, time.Until(dl))
		} else if addr, _ := r.LeaderWithID(); addr != "" {
			v, retry, err = n.forwardApply(ctx, string(addr), data)
		} else {
			retry, err = true, nil
		}
		if !retry {
			return v, err
		}
		if err != nil {
			why = err
		}
		if time.Now().After(giveUp) {
			if why != nil {
				return nil, fmt.Errorf("%w (%v)", ErrNoLeader, why)
			}
			return nil, ErrNoLeader
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrNoLeader, ctx.Err())
		case <-n.ctx.Done():
			return nil, ErrClosed
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// applyHere proposes on this node, the leader. retry means the entry was not accepted
// because leadership moved first.
func (n *Node) applyHere(r *raft.Raft, data []byte, timeout time.Duration) (any, bool, error) {
	_, v, err := n.applyLocal(r, data, timeout)
	if errors.Is(err, errNotLeader) {
		return nil, true, err
	}
	return v, false, err
}

var (
	errNotLeader = errors.New("not the leader")
	// errOutcomeUnknown: the entry was handed to raft but its fate is unknown (it may
	// still commit under the next leader, or vanish), so it must not be proposed again.
	errOutcomeUnknown = errors.New("the write may or may not have been applied")
)

// applyLocal proposes on this node's raft and returns the entry's index and result.
func (n *Node) applyLocal(r *raft.Raft, data []byte, timeout time.Duration) (uint64, any, error) {
	f := r.Apply(data, max(timeout, time.Millisecond))
	if err := n.await(r, f); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader):
			return 0, nil, errNotLeader
		case errors.Is(err, raft.ErrEnqueueTimeout):
			// Never entered the log.
			return 0, nil, fmt.Errorf("%w (%v)", ErrNoLeader, err)
		case errors.Is(err, raft.ErrLeadershipLost):
			return 0, nil, fmt.Errorf("%w (leadership lost during the write: %w)", ErrNoLeader, errOutcomeUnknown)
		case errors.Is(err, raft.ErrRaftShutdown):
			if n.ctx.Err() != nil {
				return 0, nil, fmt.Errorf("%w (%w)", ErrClosed, errOutcomeUnknown)
			}
			return 0, nil, fmt.Errorf("%w (raft is restarting: %w)", ErrNoLeader, errOutcomeUnknown)
		}
		return 0, nil, fmt.Errorf("node: apply: %w", err)
	}
	res, ok := f.Response().(raftfsm.Result)
	if !ok {
		// Only entries below the stored applied index have no response, and a new
		// proposal is never one of them.
		return 0, nil, fmt.Errorf("node: apply: unexpected response %T", f.Response())
	}
	return f.Index(), res.Value, res.Err
}

// await waits for an accepted entry's outcome. raft answers every future it took,
// except those still queued in its buffered apply channel when it shuts down
// (BatchApplyCh), whose Error would then block forever: once r has shut down, or the
// node is closing, await stops waiting and says the outcome is unknown.
func (n *Node) await(r *raft.Raft, f raft.ApplyFuture) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-n.raftStopped(r):
	case <-n.ctx.Done():
	}
	select {
	case err := <-done: // answered after all
		return err
	default:
		return fmt.Errorf("%w (raft shut down with the write queued)", raft.ErrRaftShutdown)
	}
}

// The apply RPC: a follower sends the encoded mutation, the leader answers with the
// entry's index and the mutation's result.
const opApply = "apply"

type applyRequest struct {
	Data []byte
}

type applyResponse struct {
	Index uint64
	// Kind and Value carry the result value (see resultKinds); Code and Msg its
	// domain error (a store.CodeError).
	Kind  string
	Value []byte
	Code  string
	Msg   string
}

func (n *Node) handleApply(ctx context.Context, _ cluster.Peer, decode func(any) error) (any, error) {
	var req applyRequest
	if err := decode(&req); err != nil {
		return nil, err
	}
	r := n.raftp.Load()
	if r.State() != raft.Leader || n.left.Load() {
		return nil, n.notLeader()
	}
	timeout := applyTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	idx, v, err := n.applyLocal(r, req.Data, timeout)
	var ce *store.CodeError
	switch {
	case errors.Is(err, errNotLeader):
		return nil, n.notLeader()
	case errors.Is(err, errOutcomeUnknown):
		return nil, &cluster.RemoteError{Code: codeOutcomeUnknown, Msg: err.Error()}
	case errors.Is(err, ErrNoLeader):
		return nil, &cluster.RemoteError{Code: codeNoLeader, Msg: err.Error()}
	case errors.Is(err, ErrClosed):
		return nil, &cluster.RemoteError{Code: codeClosed, Msg: err.Error()}
	case err != nil && !errors.As(err, &ce):
		return nil, err
	}
	resp := applyResponse{Index: idx}
	if ce != nil {
		resp.Code, resp.Msg = ce.Code, ce.Msg
	}
	if v != nil {
		resp.Kind, resp.Value, err = encodeResult(v)
		if err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// forwardApply sends a write to the leader and waits for this node to apply it. retry
// means the leader did not take the write (it was not sent, or the peer is no longer
// the leader), so trying again cannot apply it twice.
func (n *Node) forwardApply(ctx context.Context, leader string, data []byte) (any, bool, error) {
	var resp applyResponse
	err := n.port.Call(ctx, leader, opApply, applyRequest{Data: data}, &resp)
	if err != nil {
		var re *cluster.RemoteError
		switch {
		case errors.As(err, &re) && (re.Code == codeNotLeader || re.Code == codeNoLeader || re.Code == codeClosed):
			// The leader did not take the write: safe to propose again.
			return nil, true, fmt.Errorf("leader %s: %s", leader, re.Msg)
		case errors.As(err, &re) && re.Code == codeOutcomeUnknown:
			return nil, false, fmt.Errorf("%w (leader %s: %s)", ErrNoLeader, leader, re.Msg)
		case errors.Is(err, cluster.ErrInterrupted):
			return nil, false, fmt.Errorf("%w (connection to the leader lost during the write; it may or may not have been applied: %v)",
				ErrNoLeader, err)
		case notSent(err):
			return nil, true, err
		}
		return nil, false, fmt.Errorf("node: forward write to %s: %w", leader, err)
	}
	if err := n.waitApplied(ctx, resp.Index); err != nil {
		return nil, false, fmt.Errorf("node: the write was committed at index %d but is not applied on this node yet: %w", resp.Index, err)
	}
	var v any
	if resp.Kind != "" {
		if v, err = decodeResult(resp.Kind, resp.Value); err != nil {
			return nil, false, err
		}
	}
	if resp.Code != "" {
		return v, false, store.ErrorByCode(resp.Code, resp.Msg)
	}
	return v, false, nil
}

// notSent reports dial errors: the request never left this node.
func notSent(err error) bool {
	var ue *cluster.UnreachableError
	return errors.As(err, &ue) || errors.Is(err, cluster.ErrBlocked) || errors.Is(err, cluster.ErrRefused) ||
		errors.Is(err, cluster.ErrNotClusterPort) || errors.Is(err, cluster.ErrClosed)
}

// signalApplied wakes everything waiting in waitApplied.
func (n *Node) signalApplied() {
	n.appliedMu.Lock()
	close(n.appliedSig)
	n.appliedSig = make(chan struct{})
	n.appliedMu.Unlock()
}

// WaitApplied blocks until this node's store has applied the raft entry at index.
func (n *Node) WaitApplied(ctx context.Context, index uint64) error { return n.waitApplied(ctx, index) }

func (n *Node) waitApplied(ctx context.Context, index uint64) error {
	for {
		n.appliedMu.Lock()
		sig := n.appliedSig
		n.appliedMu.Unlock()
		if n.visible.Load() >= index {
			return nil
		}
		select {
		case <-sig:
		case <-ctx.Done():
			return ctx.Err()
		case <-n.ctx.Done():
			return ErrClosed
		}
	}
}

// AppliedIndex is the raft index of the last entry applied on this node, store and
// in-memory state alike.
func (n *Node) AppliedIndex() uint64 { return n.visible.Load() }

// resultKinds names the value types a mutation may return, so a forwarded result
// decodes on the follower to the same Go type the leader's FSM produced. A mutation
// that returns a new type must add it here.
var resultKinds = map[string]reflect.Type{
	"purge": reflect.TypeOf(store.PurgeResult{}),
	"uint":  reflect.TypeOf(uint64(0)), // AddDomain's incarnation
}

var kindOfResult = func() map[reflect.Type]string {
	m := make(map[reflect.Type]string, len(resultKinds))
	for k, t := range resultKinds {
		m[t] = k
	}
	return m
}()

func encodeResult(v any) (string, []byte, error) {
	kind, ok := kindOfResult[reflect.TypeOf(v)]
	if !ok {
		return "", nil, fmt.Errorf("node: result type %T cannot cross the cluster port: add it to resultKinds", v)
	}
	b, err := cluster.Encode(v)
	return kind, b, err
}

func decodeResult(kind string, data []byte) (any, error) {
	t, ok := resultKinds[kind]
	if !ok {
		return nil, fmt.Errorf("node: unknown result kind %q from the leader", kind)
	}
	p := reflect.New(t)
	if err := cluster.Decode(data, p.Interface()); err != nil {
		return nil, err
	}
	return p.Elem().Interface(), nil
}

// watchedFSM is the FSM raft drives: it records, after each batch has been applied and
// its observers (the directory) updated, the last index it covered. Waiting on that
// index, rather than on the store's, guarantees a read after the wait sees the write
// in memory as well as on disk.
type watchedFSM struct {
	*raftfsm.FSM
	n *Node
}

var _ raft.BatchingFSM = watchedFSM{}

func (w watchedFSM) ApplyBatch(logs []*raft.Log) []any {
	res := w.FSM.ApplyBatch(logs)
	if len(logs) > 0 {
		w.n.markApplied(logs[len(logs)-1].Index)
	}
	return res
}

func (w watchedFSM) Apply(l *raft.Log) any {
	res := w.FSM.Apply(l)
	w.n.markApplied(l.Index)
	return res
}

func (w watchedFSM) Restore(rc io.ReadCloser) error {
	if err := w.FSM.Restore(rc); err != nil {
		return err
	}
	idx, _ := w.FSM.AppliedIndex()
	w.n.visible.Store(idx)
	w.n.signalApplied()
	return nil
}

func (n *Node) markApplied(idx uint64) {
	if idx > n.visible.Load() {
		n.visible.Store(idx)
	}
	n.signalApplied()
}
