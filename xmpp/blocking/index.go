package blocking

import (
	"log/slog"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
)

// index holds every block list of the store in memory. Each message a user sends
// or receives is checked against both parties' lists; reading them from bbolt cost a
// read transaction per message (11% of the CPU of a chat benchmark, and it slowed
// chat further while domains were being created), while most users block nobody.
// The index follows the store through the node's commit notifications, which run
// before the write that caused them is acknowledged, so a client that blocks someone
// and gets its result never sees a stanza slip through afterwards.
type index struct {
	store module.Store
	log   *slog.Logger

	mu    sync.RWMutex
	lists map[string]map[string]map[string]struct{} // domain -> user -> blocked JIDs
}

type indexKey struct{}

// sharedIndex returns the Host's index, building it on first use: one index serves
// every host type that runs mod_blocking.
func sharedIndex(env *module.Env) *index {
	return env.Host().Shared(indexKey{}, func() any {
		ix := &index{store: env.Store(), log: env.Logger(), lists: map[string]map[string]map[string]struct{}{}}
		// Subscribing before loading, with the lock held across both, means a
		// commit during the load waits and then re-reads its user: nothing is lost.
		ix.mu.Lock()
		defer ix.mu.Unlock()
		env.Store().OnApplied(ix.applied)
		env.Store().OnReset(ix.reload)
		ix.loadLocked()
		return ix
	}).(*index)
}

func (ix *index) loadLocked() {
	clear(ix.lists)
	err := ix.store.View(func(tx *bolt.Tx) error {
		store.ForEachBlocklist(tx, "", func(domain, user string, jids []string) {
			ix.setLocked(domain, user, jids)
		})
		return nil
	})
	if err != nil {
		ix.log.Error("block lists not loaded", "error", err)
	}
}

func (ix *index) reload() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.loadLocked()
}

// setLocked replaces one user's list; an empty list removes the user.
func (ix *index) setLocked(domain, user string, jids []string) {
	users := ix.lists[domain]
	if len(jids) == 0 {
		delete(users, user)
		if len(users) == 0 {
			delete(ix.lists, domain)
		}
		return
	}
	if users == nil {
		users = map[string]map[string]struct{}{}
		ix.lists[domain] = users
	}
	set := make(map[string]struct{}, len(jids))
	for _, j := range jids {
		set[j] = struct{}{}
	}
	users[user] = set
}

// applied follows the mutations that change block lists by re-reading what they
// touched, so the index converges on the store whatever the mutation did.
func (ix *index) applied(m store.Mutation) {
	switch m := m.(type) {
	case *store.SetBlocked:
		ix.refresh(m.Domain, m.User)
	case *store.RemoveUser:
		ix.refresh(m.Domain, m.User)
	case *store.RemoveUserData:
		ix.refresh(m.Domain, m.User)
	case *store.PurgeDomain:
		if m.Step == "" || m.Step == "blocking" {
			ix.refreshDomain(m.Name)
		}
	case *store.DeleteDomainRow:
		ix.refreshDomain(m.Name)
	}
}

func (ix *index) refresh(domain, user string) {
	var jids []string
	err := ix.store.View(func(tx *bolt.Tx) error {
		jids = store.Blocklist(tx, domain, user)
		return nil
	})
	if err != nil {
		ix.log.Error("block list not reloaded", "domain", domain, "user", user, "error", err)
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.setLocked(domain, user, jids)
}

func (ix *index) refreshDomain(domain string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	delete(ix.lists, domain)
	err := ix.store.View(func(tx *bolt.Tx) error {
		store.ForEachBlocklist(tx, domain, func(d, user string, jids []string) {
			ix.setLocked(d, user, jids)
		})
		return nil
	})
	if err != nil {
		ix.log.Error("block lists not reloaded", "domain", domain, "error", err)
	}
}

// blocks reports whether user's block list covers other. Users who block nobody,
// nearly all of them, cost two map lookups under a read lock.
func (ix *index) blocks(user, other jid.JID) bool {
	if user.Local() == "" || user.Bare() == other.Bare() {
		return false
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	set := ix.lists[user.Domain()][user.Local()]
	if set == nil {
		return false
	}
	for _, k := range matchKeys(other) {
		if _, ok := set[k]; ok {
			return true
		}
	}
	return false
}
