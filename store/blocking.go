package store

import (
	"bytes"
	"errors"

	bolt "go.etcd.io/bbolt"
)

// Domain removal step: block lists.
func init() { registerDomainData("blocking", 50, bucketBlocking) }

// Block lists (XEP-0191) live in bucketBlocking under "domain\x00user\x00jid", one key per
// blocked JID (bare, full, domain or domain/resource, as prepared by the XMPP layer),
// with an empty value.

var bucketBlocking = []byte("blocking")

// MaxBlocklist bounds a user's block list.
const MaxBlocklist = 10000

// ErrBlocklistFull is a block that would take the list past MaxBlocklist.
var ErrBlocklistFull = newCodeErr("blocklist_full", "Too many blocked JIDs")

// SetBlocked blocks (Block true) or unblocks JIDs; unblocking with no JIDs empties the
// list.
type SetBlocked struct {
	Domain string
	User   string
	Block  bool
	JIDs   []string
	// Static is set by the proposer for configured hosts (see checkDomainServes).
	Static bool
}

func (m *SetBlocked) Apply(tx *bolt.Tx) (any, error) {
	if m.User == "" {
		return nil, errors.New("store: block list without user")
	}
	if err := checkDomainServes(tx, m.Domain, m.Static); err != nil {
		return nil, err
	}
	b := tx.Bucket(bucketBlocking)
	prefix := blockPrefix(m.Domain, m.User)
	if !m.Block && len(m.JIDs) == 0 {
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	if m.Block {
		n := 0
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			n++
		}
		for _, j := range m.JIDs {
			if b.Get(append(prefix[:len(prefix):len(prefix)], j...)) == nil {
				n++
			}
		}
		if n > MaxBlocklist {
			return nil, ErrBlocklistFull
		}
	}
	for _, j := range m.JIDs {
		k := append(blockPrefix(m.Domain, m.User), j...)
		var err error
		if m.Block {
			err = b.Put(k, []byte{})
		} else {
			err = b.Delete(k)
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func blockPrefix(domain, user string) []byte { return domainKey(domain, user+"\x00") }

// Blocklist returns a user's blocked JIDs in key order.
func Blocklist(tx *bolt.Tx, domain, user string) []string {
	prefix := blockPrefix(domain, user)
	var out []string
	c := tx.Bucket(bucketBlocking).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}

// ForEachBlocklist calls fn with every non-empty block list of domain ("" for every
// domain), in key order; in-memory indexes are built from it.
func ForEachBlocklist(tx *bolt.Tx, domain string, fn func(domain, user string, jids []string)) {
	var prefix []byte
	if domain != "" {
		prefix = domainPrefix(domain)
	}
	var curDomain, curUser string
	var jids []string
	flush := func() {
		if len(jids) > 0 {
			fn(curDomain, curUser, jids)
		}
		jids = nil
	}
	c := tx.Bucket(bucketBlocking).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		d, rest, ok := bytes.Cut(k, []byte{0})
		if !ok {
			continue
		}
		u, j, ok := bytes.Cut(rest, []byte{0})
		if !ok {
			continue
		}
		if string(d) != curDomain || string(u) != curUser {
			flush()
			curDomain, curUser = string(d), string(u)
		}
		jids = append(jids, string(j))
	}
	flush()
}

// HasBlocklist reports whether the user blocks anyone: one cursor seek, so that the
// common case (no list) costs the message path little.
func HasBlocklist(tx *bolt.Tx, domain, user string) bool {
	prefix := blockPrefix(domain, user)
	k, _ := tx.Bucket(bucketBlocking).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}

// IsBlocked reports whether any of the JIDs is on the user's block list.
func IsBlocked(tx *bolt.Tx, domain, user string, jids ...string) bool {
	b := tx.Bucket(bucketBlocking)
	prefix := blockPrefix(domain, user)
	key := prefix
	for _, j := range jids {
		key = append(key[:len(prefix)], j...)
		if b.Get(key) != nil {
			return true
		}
	}
	return false
}

// RemoveUserData deletes what mod_vcard, mod_private, mod_last, mod_blocking and
// mod_offline keep for an account. RemoveUser does the same in its own transaction;
// this mutation remains for entries already in raft logs.
type RemoveUserData struct {
	Domain string
	User   string
}

func (m *RemoveUserData) Apply(tx *bolt.Tx) (any, error) {
	if m.User == "" {
		return nil, errors.New("store: user data removal without user")
	}
	return nil, deleteUserRows(tx, m.Domain, m.User)
}

// deleteUserRows deletes an account's rows in the small per-user buckets (MongooseIM's
// remove_user hook for vCard, private XML, last activity, block list and offline
// messages). Rosters (contacts must be told) and archives (deleted in chunks) are
// removed by their modules.
func deleteUserRows(tx *bolt.Tx, domain, user string) error {
	k := domainKey(domain, user)
	for _, b := range [][]byte{bucketVCard, bucketLast, bucketOfflineMeta} {
		if err := tx.Bucket(b).Delete(k); err != nil {
			return err
		}
	}
	prefix := domainKey(domain, user+"\x00")
	for _, b := range [][]byte{bucketPrivate, bucketBlocking, bucketOffline} {
		c := tx.Bucket(b).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	return nil
}
