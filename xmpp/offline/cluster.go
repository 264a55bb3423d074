package offline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Delivery across the cluster. Each user's queue has an owner node, picked by
// hashing the bare JID over the sorted names of this node and its connected peers,
// and only the owner delivers it: a node whose session becomes available asks the
// owner (module.Cluster.Call, service "offline/" + host type), which takes its
// per-user lock, reads the queue, forwards each message to that session (Cluster
// .Deliver: frames on the mesh connection, in order), checks with a "sync" call back
// on the same connection that they reached the session's node and the session is
// still bound there, deletes them through raft and answers. A second resource
// coming online anywhere at the same time waits on the owner's lock and then finds
// the queue empty.
//
// Every failure keeps at-least-once: the owner deletes nothing it could not confirm,
// and the asking node delivers locally (as a single node does) when the owner does
// not answer (not connected, timed out, an older node without the service). Two
// nodes that see different peer sets for a moment may pick different owners; they
// then deliver as they did without an owner, possibly twice, never losing.

// CallTimeout bounds each call to another node.
const CallTimeout = 5 * time.Second

const (
	opDeliver = "deliver" // to the owner: deliver the queue to JID
	opSync    = "sync"    // owner to the session's node: is JID still bound here?
)

// callReq is a request between nodes.
type callReq struct {
	Op  string `json:"op"`
	JID string `json:"jid"` // the full JID of the session that became available
	// Seq is the last sequence number of the queue as the asking node sees it: a
	// message committed there may not be applied on the owner yet.
	Seq uint64 `json:"seq,omitempty"`
}

// catchUpWait bounds how long the owner waits for its store to show a message the
// asking node already sees.
const catchUpWait = 500 * time.Millisecond

var errNoSession = errors.New("offline: session not bound here")

// ownerOf picks the node that delivers user's queue among self and peers. Every
// node with the same view of the cluster picks the same one.
func ownerOf(self string, peers []string, user jid.JID) string {
	nodes := append([]string{self}, peers...)
	slices.Sort(nodes)
	nodes = slices.Compact(nodes)
	h := fnv.New64a()
	_, _ = h.Write([]byte(user.Bare().String()))
	return nodes[h.Sum64()%uint64(len(nodes))]
}

func (m *mod) service() string { return "offline/" + m.env.HostType() }

func (m *mod) call(node string, r callReq) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(m.env.Context(), CallTimeout)
	defer cancel()
	_, err = m.env.Cluster().Call(ctx, node, m.service(), b)
	return err
}

// deliverRemote asks the owner of s's user to deliver the queue to s. It reports
// false when s's delivery is this node's to do: no cluster, this node owns the
// user, the queue is empty here, or the owner did not deliver.
func (m *mod) deliverRemote(s module.Session) bool {
	cl := m.env.Cluster()
	if cl == nil {
		return false
	}
	u := s.JID()
	owner := ownerOf(cl.Self(), cl.Peers(), u)
	if owner == cl.Self() {
		return false
	}
	// Most sessions have nothing waiting: they cost no call (and a login never
	// waits on a peer that is slow to answer or about to be declared dead).
	seq := m.lastSeq(u)
	if seq == 0 {
		return false
	}
	if err := m.call(owner, callReq{Op: opDeliver, JID: u.String(), Seq: seq}); err != nil {
		m.env.Logger().Info("offline queue owner did not deliver; delivering here", "owner", owner, "user", u.Bare().String(), "error", err)
		return false
	}
	return true
}

// handle answers the other nodes' calls.
func (m *mod) handle(ctx context.Context, from string, req []byte) ([]byte, error) {
	var r callReq
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, fmt.Errorf("offline: bad call: %w", err)
	}
	full, err := jid.Parse(r.JID)
	if err != nil || full.Local() == "" || full.Resource() == "" {
		return nil, fmt.Errorf("offline: bad JID %q", r.JID)
	}
	cl := m.env.Cluster()
	switch r.Op {
	case opSync:
		// The owner's deliveries came before this call on the same connection, so
		// they have been handed to the session if it is still here.
		if _, ok := m.r.Lookup(full); !ok {
			return nil, errNoSession
		}
		return nil, nil
	case opDeliver:
		if cl == nil {
			return nil, module.ErrNoCluster
		}
		m.awaitSeq(ctx, full, r.Seq, catchUpWait)
		send := func(el *xmlstream.Element) bool { return cl.Deliver(from, full, el) }
		confirm := func() error { return m.call(from, callReq{Op: opSync, JID: r.JID}) }
		return nil, m.deliverQueue(full, send, confirm)
	}
	return nil, fmt.Errorf("offline: unknown call %q", r.Op)
}

// lastSeq is the sequence number of the last message of u's queue here, 0 if empty.
func (m *mod) lastSeq(u jid.JID) uint64 {
	var last uint64
	_ = m.st.View(func(tx *bolt.Tx) error {
		last = store.OfflineLastSeq(tx, u.Domain(), u.Local())
		return nil
	})
	return last
}

// awaitSeq waits, up to bound, until this node's store holds u's message seq (raft
// applies it here a moment after the asking node). A queue already emptied past
// seq looks the same as one that is behind: that case waits the whole bound.
func (m *mod) awaitSeq(ctx context.Context, u jid.JID, seq uint64, bound time.Duration) {
	if seq == 0 {
		return
	}
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	for {
		// Taken before the check: a batch applied after it fires this channel.
		changed := m.queued.wait()
		if m.lastSeq(u) >= seq {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// signal wakes every waiter at once each time it fires.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed at the next fire.
func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}
