package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mongoose-go/mongoose-go/node/cluster"
)

// Errors of cluster membership operations, matched with errors.Is.
var (
	// ErrRefused: the cluster (or this node) refused a membership change; the error's
	// text says why, e.g. "node name already in use".
	ErrRefused = errors.New("refused")
	// ErrUnknownNode: no server of that name in the cluster configuration.
	ErrUnknownNode = errors.New("no such node in the cluster")
	// ErrJoinFailed: no member could be reached to join through in time.
	ErrJoinFailed = errors.New("could not join the cluster")
	// ErrSecretMismatch: the peer proves a different cluster secret.
	ErrSecretMismatch = cluster.ErrSecretMismatch
)

// reasonError carries a reason as its whole text and matches its sentinel, so a
// refusal reads the same on the node that decided it and on the one that asked.
type reasonError struct {
	msg  string
	kind error
}

func (e *reasonError) Error() string        { return e.msg }
func (e *reasonError) Is(target error) bool { return target == e.kind }

func refusedf(format string, args ...any) error {
	return &reasonError{msg: fmt.Sprintf(format, args...), kind: ErrRefused}
}

// RPC operations and error codes between nodes. They are wire format: never rename one.
const (
	opJoin   = "join"
	opRemove = "remove"
	opStatus = "status"

	// codeNotLeader: the peer is not the leader; Msg is the leader's address, or ""
	// when it knows none.
	codeNotLeader = "not_leader"
	codeNoLeader  = "no_leader"
	codeClosed    = "closed"
	// codeOutcomeUnknown: the leader proposed the write and lost leadership (or shut
	// down) before it committed; the caller must not send it again.
	codeOutcomeUnknown = "outcome_unknown"
	codeRefused        = "refused"
	codeUnknownNode    = "unknown_node"
)

func (n *Node) registerRPC() {
	n.port.HandleRPC(opApply, n.handleApply)
	n.port.HandleRPC(opJoin, n.handleJoin)
	n.port.HandleRPC(opRemove, n.handleRemove)
	n.port.HandleRPC(opStatus, n.handleStatus)
}

// Port is the node's cluster port, on which the session mesh registers its handler
// (HandleMesh) and dials peers (DialMesh).
func (n *Node) Port() *cluster.Port { return n.port }

func (n *Node) notLeader() error {
	addr, _ := n.raftp.Load().LeaderWithID()
	if n.left.Load() {
		addr = ""
	}
	return &cluster.RemoteError{Code: codeNotLeader, Msg: string(addr)}
}

// remoteErr turns a peer's refusal into this node's error values.
func remoteErr(re *cluster.RemoteError) error {
	switch re.Code {
	case codeRefused:
		return &reasonError{msg: re.Msg, kind: ErrRefused}
	case codeUnknownNode:
		return &reasonError{msg: re.Msg, kind: ErrUnknownNode}
	case codeNoLeader, codeNotLeader:
		return ErrNoLeader
	case codeClosed:
		return fmt.Errorf("%w (the peer is shutting down)", ErrNoLeader)
	}
	return errors.New(re.Msg)
}

// toRemote turns this node's errors into what a peer's remoteErr understands.
func toRemote(err error) error {
	var re *cluster.RemoteError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return err
	case errors.Is(err, ErrRefused):
		return &cluster.RemoteError{Code: codeRefused, Msg: err.Error()}
	case errors.Is(err, ErrUnknownNode):
		return &cluster.RemoteError{Code: codeUnknownNode, Msg: err.Error()}
	case errors.Is(err, ErrNoLeader):
		return &cluster.RemoteError{Code: codeNoLeader, Msg: err.Error()}
	case errors.Is(err, ErrClosed):
		return &cluster.RemoteError{Code: codeClosed, Msg: err.Error()}
	}
	return err
}

// callLeader runs op on the cluster's leader: it asks addr (this node's idea of the
// leader when addr is empty) and follows "not leader" redirects, waiting out elections
// until ctx ends.
func (n *Node) callLeader(ctx context.Context, addr, op string, req, resp any) error {
	target := addr
	hops := 0
	for {
		if target == "" {
			a, _ := n.raftp.Load().LeaderWithID()
			target = string(a)
		}
		var err error
		if target != "" {
			err = n.port.Call(ctx, target, op, req, resp)
			var re *cluster.RemoteError
			if !errors.As(err, &re) {
				return err
			}
			switch re.Code {
			case codeNotLeader:
				if re.Msg != "" && re.Msg != target && hops < 5 {
					target, hops = re.Msg, hops+1
					continue
				}
			case codeNoLeader, codeClosed:
			default:
				return remoteErr(re)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNoLeader, ctx.Err())
		case <-n.ctx.Done():
			return ErrClosed
		case <-time.After(50 * time.Millisecond):
		}
		target, hops = addr, 0
	}
}
