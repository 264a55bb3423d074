package store

import (
	"bytes"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// Domain removal step: accounts and the per-domain account count. It runs last, so
// that a stopped removal never leaves data of accounts that no longer exist.
func init() { registerDomainData("accounts", 100, bucketUsers, bucketUserCounts) }

// User accounts live in bucketUsers under "domain\x00username" with the serialised
// credentials as value (SCRAM or plain, as auth.password.format says). A per-domain
// count in bucketUserCounts makes max_users_per_domain an O(1) check.

// GetUserCreds returns a user's serialised credentials.
func GetUserCreds(tx *bolt.Tx, domain, user string) (string, bool) {
	v := tx.Bucket(bucketUsers).Get(domainKey(domain, user))
	if v == nil {
		return "", false
	}
	return string(v), true
}

// ForEachUser calls fn with every username of domain, in order.
func ForEachUser(tx *bolt.Tx, domain string, fn func(user string) error) error {
	prefix := domainPrefix(domain)
	c := tx.Bucket(bucketUsers).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if err := fn(string(k[len(prefix):])); err != nil {
			return err
		}
	}
	return nil
}

// UserCount returns the number of accounts in domain.
func UserCount(tx *bolt.Tx, domain string) int {
	v := tx.Bucket(bucketUserCounts).Get(domainPrefix(domain))
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}

func addUserCount(tx *bolt.Tx, domain string, delta int) error {
	n := UserCount(tx, domain) + delta
	k := domainPrefix(domain)
	if n <= 0 {
		return tx.Bucket(bucketUserCounts).Delete(k)
	}
	return tx.Bucket(bucketUserCounts).Put(k, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// checkDomainServes refuses accounts on a dynamic domain that is unknown, disabled or
// being deleted. Static domains are known only to the proposer, which sets static.
func checkDomainServes(tx *bolt.Tx, domain string, static bool) error {
	if static {
		return nil
	}
	d, ok := GetDomain(tx, domain)
	if !ok || d.Status != StatusEnabled {
		return ErrDomainDisabled
	}
	return nil
}

// acceptsData reports whether a write of tenant data for domain may land. Never once
// the domain's removal started (the purge would race it and the row could not go) nor
// after a dynamic domain is gone (a later tenant of the same name would inherit it).
// Disabled domains accept it: a session closed by the disabling still stores its
// unacknowledged messages offline. dynamic is the proposer's !IsStatic; records from
// entries written before the flag existed carry false and are checked as before.
func acceptsData(tx *bolt.Tx, domain string, dynamic bool) bool {
	if d, ok := GetDomain(tx, domain); ok {
		return d.Status != StatusDeleting
	}
	return !dynamic
}

// AddUser creates an account. MaxUsers (0 = no limit) is auth.max_users_per_domain for
// the domain's host type, resolved by the proposer.
type AddUser struct {
	Domain   string
	User     string
	Creds    string
	Static   bool
	MaxUsers int
}

func (m *AddUser) Apply(tx *bolt.Tx) (any, error) {
	if err := checkDomainServes(tx, m.Domain, m.Static); err != nil {
		return nil, err
	}
	k := domainKey(m.Domain, m.User)
	b := tx.Bucket(bucketUsers)
	if b.Get(k) != nil {
		return nil, ErrUserExists
	}
	if m.MaxUsers > 0 && UserCount(tx, m.Domain) >= m.MaxUsers {
		return nil, ErrTooManyUsers
	}
	if err := b.Put(k, []byte(m.Creds)); err != nil {
		return nil, err
	}
	return nil, addUserCount(tx, m.Domain, 1)
}

// SetUserPassword replaces an existing account's credentials.
type SetUserPassword struct {
	Domain string
	User   string
	Creds  string
	Static bool
}

func (m *SetUserPassword) Apply(tx *bolt.Tx) (any, error) {
	if err := checkDomainServes(tx, m.Domain, m.Static); err != nil {
		return nil, err
	}
	k := domainKey(m.Domain, m.User)
	b := tx.Bucket(bucketUsers)
	if b.Get(k) == nil {
		return nil, ErrUserNotFound
	}
	return nil, b.Put(k, []byte(m.Creds))
}

// RemoveUser deletes an account.
type RemoveUser struct {
	Domain string
	User   string
}

func (m *RemoveUser) Apply(tx *bolt.Tx) (any, error) {
	k := domainKey(m.Domain, m.User)
	b := tx.Bucket(bucketUsers)
	if b.Get(k) == nil {
		return nil, ErrUserNotFound
	}
	if err := b.Delete(k); err != nil {
		return nil, err
	}
	// The account's small per-user data goes in the same transaction, so a crash can
	// never leave it for a new account of the same name.
	if err := deleteUserRows(tx, m.Domain, m.User); err != nil {
		return nil, err
	}
	return nil, addUserCount(tx, m.Domain, -1)
}
