package mesh

import (
	"sync"
	"sync/atomic"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
)

// shardCount spreads the remote table over independently locked shards: routing
// reads one shard per stanza and must not wait for another peer's updates.
const shardCount = 64

// table is this node's copy of the other nodes' sessions. Every entry is tagged
// with the generation of the connection it arrived on, so that a reconnect can
// replace a peer's entries without a gap (the new full table overwrites them; the
// leftovers are dropped when it is complete), and a late frame from a superseded
// connection cannot undo a newer one.
type table struct {
	// mu serialises writers and guards gens; readers only take a shard's RLock.
	mu    sync.Mutex
	gens  map[string]map[jid.JID]uint64 // node -> full JID -> generation
	count atomic.Int64

	shards [shardCount]tshard
}

type tshard struct {
	mu sync.RWMutex
	// users maps a bare JID to its remote sessions. The slices are copy-on-write,
	// so a reader keeps one after releasing the lock.
	users map[jid.JID][]router.RemoteSession
	_     [32]byte // one cache line per shard lock
}

func newTable() *table {
	t := &table{gens: map[string]map[jid.JID]uint64{}}
	for i := range t.shards {
		t.shards[i].users = map[jid.JID][]router.RemoteSession{}
	}
	return t
}

func (t *table) shardOf(bare jid.JID) *tshard {
	const prime = 16777619
	h := uint32(2166136261)
	l, d := bare.Local(), bare.Domain()
	for i := 0; i < len(l); i++ {
		h = (h ^ uint32(l[i])) * prime
	}
	h = (h ^ '@') * prime
	for i := 0; i < len(d); i++ {
		h = (h ^ uint32(d[i])) * prime
	}
	return &t.shards[h%shardCount]
}

// lookup returns the remote sessions of a bare JID; the slice must not be changed.
func (t *table) lookup(bare jid.JID) []router.RemoteSession {
	sh := t.shardOf(bare)
	sh.mu.RLock()
	rss := sh.users[bare]
	sh.mu.RUnlock()
	return rss
}

// ofDomain scans the table for a domain's sessions (administration).
func (t *table) ofDomain(domain string) []router.RemoteSession {
	var out []router.RemoteSession
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.RLock()
		for bare, rss := range sh.users {
			if bare.Domain() == domain {
				out = append(out, rss...)
			}
		}
		sh.mu.RUnlock()
	}
	return out
}

// put adds or updates rs as learnt on connection generation gen.
func (t *table) put(rs router.RemoteSession, gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.gens[rs.Node]
	if g == nil {
		g = map[jid.JID]uint64{}
		t.gens[rs.Node] = g
	}
	if old, ok := g[rs.JID]; ok && old > gen {
		return
	} else if !ok {
		t.count.Add(1)
	}
	g[rs.JID] = gen
	bare := rs.JID.Bare()
	sh := t.shardOf(bare)
	sh.mu.Lock()
	old := sh.users[bare]
	next := make([]router.RemoteSession, 0, len(old)+1)
	for _, o := range old {
		if o.Node != rs.Node || o.JID != rs.JID {
			next = append(next, o)
		}
	}
	// Last is newest: a JID that moved between nodes resolves to where it went.
	sh.users[bare] = append(next, rs)
	sh.mu.Unlock()
}

// remove deletes node's session full, unless a newer connection re-added it.
func (t *table) remove(node string, full jid.JID, gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.gens[node]
	if old, ok := g[full]; !ok || old > gen {
		return
	}
	delete(g, full)
	t.count.Add(-1)
	t.unlink(node, full)
}

// unlink removes one entry from its shard; t.mu is held.
func (t *table) unlink(node string, full jid.JID) {
	bare := full.Bare()
	sh := t.shardOf(bare)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old := sh.users[bare]
	next := make([]router.RemoteSession, 0, len(old))
	for _, o := range old {
		if o.Node != node || o.JID != full {
			next = append(next, o)
		}
	}
	if len(next) == 0 {
		delete(sh.users, bare)
		return
	}
	sh.users[bare] = next
}

// dropNode removes node's entries learnt on generations below gen and returns how
// many went.
func (t *table) dropNode(node string, below uint64) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.gens[node]
	n := 0
	for full, gen := range g {
		if gen < below {
			delete(g, full)
			t.unlink(node, full)
			n++
		}
	}
	if len(g) == 0 {
		delete(t.gens, node)
	}
	t.count.Add(-int64(n))
	return n
}

// nodeCount returns how many sessions of node the table holds.
func (t *table) nodeCount(node string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.gens[node])
}
