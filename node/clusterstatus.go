package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/mongoose-go/mongoose-go/node/cluster"
)

// ClusterStatus is a node's view of its cluster (GET /cluster).
type ClusterStatus struct {
	// Node is the node that answered.
	Node       string         `json:"node"`
	Leader     string         `json:"leader"`
	LeaderAddr string         `json:"leader_address"`
	Servers    []ServerStatus `json:"servers"`
}

// ServerStatus is one server of the raft configuration. RaftState and AppliedIndex come
// from the server itself; Reachable says whether it answered.
type ServerStatus struct {
	Name         string `json:"name"`
	Address      string `json:"address"`
	Suffrage     string `json:"suffrage"`
	Leader       bool   `json:"leader"`
	Reachable    bool   `json:"reachable"`
	RaftState    string `json:"raft_state,omitempty"`
	AppliedIndex uint64 `json:"applied_index"`
	Error        string `json:"error,omitempty"`
}

// Member is a server of the cluster configuration.
type Member struct {
	Name    string
	Address string
	Voter   bool
}

// Members returns the servers of the latest raft configuration this node knows, itself
// included (nil once it has left).
func (n *Node) Members() []Member {
	if n.left.Load() {
		return nil
	}
	cf := n.raftp.Load().GetConfiguration()
	if cf.Error() != nil {
		return nil
	}
	var out []Member
	for _, s := range cf.Configuration().Servers {
		out = append(out, Member{Name: string(s.ID), Address: string(s.Address), Voter: s.Suffrage == raft.Voter})
	}
	return out
}

// peerStatusResponse is what the status RPC answers: the peer's own state and its view
// of the configuration.
type peerStatusResponse struct {
	Name         string
	Addr         string
	RaftState    string
	Leader       string
	LeaderAddr   string
	AppliedIndex uint64
	Servers      []ServerStatus
}

func (n *Node) localStatus() peerStatusResponse {
	st := n.Status()
	resp := peerStatusResponse{
		Name: n.opts.NodeName, Addr: n.port.Addr(), RaftState: st.RaftState,
		Leader: st.Leader, LeaderAddr: st.LeaderAddr, AppliedIndex: st.AppliedIndex,
	}
	for _, m := range n.Members() {
		resp.Servers = append(resp.Servers, ServerStatus{Name: m.Name, Address: m.Address, Suffrage: suffrage(m.Voter)})
	}
	return resp
}

func suffrage(voter bool) string {
	if voter {
		return "voter"
	}
	return "nonvoter"
}

func (n *Node) handleStatus(context.Context, cluster.Peer, func(any) error) (any, error) {
	return n.localStatus(), nil
}

// peerStatus asks the first member of addrs that answers for its status.
func (n *Node) peerStatus(ctx context.Context, addrs []string) (peerStatusResponse, error) {
	var errs []error
	for _, a := range addrs {
		c, cancel := context.WithTimeout(ctx, cluster.DefaultHandshakeTimeout)
		var resp peerStatusResponse
		err := n.port.Call(c, a, opStatus, nil, &resp)
		cancel()
		if err == nil {
			return resp, nil
		}
		var re *cluster.RemoteError
		if errors.As(err, &re) {
			err = remoteErr(re)
		}
		errs = append(errs, fmt.Errorf("%s: %w", a, err))
	}
	return peerStatusResponse{}, fmt.Errorf("%w: %w", ErrJoinFailed, errors.Join(errs...))
}

// statusTimeout bounds how long ClusterStatus waits for each peer.
const statusTimeout = time.Second

// ClusterStatus reports the configuration as this node knows it and asks every other
// server for its state. It works without a leader, which is when it matters most.
func (n *Node) ClusterStatus(ctx context.Context) ClusterStatus {
	self := n.localStatus()
	out := ClusterStatus{Node: self.Name, Leader: self.Leader, LeaderAddr: self.LeaderAddr}
	servers := self.Servers
	if len(servers) == 0 { // left, or waiting to be added
		servers = []ServerStatus{{Name: self.Name, Address: self.Addr, Suffrage: "none"}}
	}
	var wg sync.WaitGroup
	for i := range servers {
		s := &servers[i]
		s.Leader = s.Name == out.Leader
		if s.Name == n.opts.NodeName {
			s.Reachable, s.RaftState, s.AppliedIndex = true, self.RaftState, self.AppliedIndex
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, cancel := context.WithTimeout(ctx, statusTimeout)
			defer cancel()
			var resp peerStatusResponse
			if err := n.port.Call(c, s.Address, opStatus, nil, &resp); err != nil {
				s.Error = err.Error()
				return
			}
			s.Reachable, s.RaftState, s.AppliedIndex = true, resp.RaftState, resp.AppliedIndex
		}()
	}
	wg.Wait()
	out.Servers = servers
	return out
}
