package node

import (
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/mongoose-go/mongoose-go/store"
)

// Accessors for the metrics endpoint (node/server/metrics.go). They are read at
// scrape time, not on any hot path.

// RaftStats is this node's view of raft, for monitoring.
type RaftStats struct {
	Leader       bool   // this node is the leader
	AppliedIndex uint64 // last log index applied to the store and visible to reads
	CommitIndex  uint64 // last log index known committed
	LastLogIndex uint64 // last index in this node's log
	// LastContact is how long ago this follower last heard from a leader: 0 on
	// the leader, negative when it never has.
	LastContact time.Duration
	Members     int // servers in the raft configuration (voters and non-voters)
	FSMPending  int // committed entries queued for the FSM
}

// RaftStats reports raft's indexes and contact with the leader.
func (n *Node) RaftStats() RaftStats {
	r := n.raftp.Load()
	st := RaftStats{
		Leader:       r.State() == raft.Leader && !n.left.Load(),
		AppliedIndex: n.visible.Load(),
		Members:      len(n.Members()),
	}
	stats := r.Stats()
	st.CommitIndex, _ = strconv.ParseUint(stats["commit_index"], 10, 64)
	st.LastLogIndex, _ = strconv.ParseUint(stats["last_log_index"], 10, 64)
	pending, _ := strconv.Atoi(stats["fsm_pending"])
	st.FSMPending = pending
	switch last := r.LastContact(); {
	case st.Leader:
	case last.IsZero():
		st.LastContact = -1
	default:
		st.LastContact = time.Since(last)
	}
	return st
}

// DomainCount is the number of dynamic domains of one host type and status.
type DomainCount struct {
	HostType string
	Status   store.DomainStatus
	N        int
}

// DomainCounts counts the dynamic domains by host type and status, without copying
// the directory: a scrape costs one pass under the read lock.
func (d *Directory) DomainCounts() []DomainCount {
	type key struct {
		ht string
		st store.DomainStatus
	}
	counts := map[key]int{}
	d.mu.RLock()
	for name, e := range d.dyn {
		if _, shadowed := d.static[name]; shadowed {
			continue
		}
		counts[key{e.hostType, e.status}]++
	}
	d.mu.RUnlock()
	out := make([]DomainCount, 0, len(counts))
	for k, n := range counts {
		out = append(out, DomainCount{HostType: k.ht, Status: k.st, N: n})
	}
	return out
}
