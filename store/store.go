// Package store owns the bbolt schema of mongoose-go and the typed, deterministic
// mutations that change it. It knows nothing of raft or XMPP: raftfsm decides when a
// mutation is applied, node decides which mutations to propose.
//
// Every durable key that belongs to a tenant starts with its domain name followed by a
// NUL byte, so removing a domain (or, later, moving it to another raft group) is a walk
// over one key range per bucket.
package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Bucket names. They are part of the on-disk format: never rename one.
var (
	bucketMeta         = []byte("meta")
	bucketDomains      = []byte("domains")
	bucketUsers        = []byte("users")
	bucketUserCounts   = []byte("user_counts")
	bucketDomainAdmins = []byte("domain_admins")
)

var keyApplied = []byte("applied")

// SchemaVersion is written into new stores and checked on open so an older binary
// refuses a store it cannot read instead of corrupting it.
const SchemaVersion = 1

var keySchema = []byte("schema")

// ErrSchema reports a store written by an incompatible version.
var ErrSchema = errors.New("store: unsupported schema version")

// Init creates every bucket the schema needs. It is idempotent and runs in the same
// transaction that opens a store, so a half-initialised file cannot exist.
func Init(tx *bolt.Tx) error {
	for _, name := range allBuckets() {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("store: create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	if v := meta.Get(keySchema); v != nil {
		if len(v) != 4 || binary.BigEndian.Uint32(v) != SchemaVersion {
			return fmt.Errorf("%w: file has %x, binary reads %d", ErrSchema, v, SchemaVersion)
		}
		return nil
	}
	return meta.Put(keySchema, binary.BigEndian.AppendUint32(nil, SchemaVersion))
}

func allBuckets() [][]byte {
	b := [][]byte{bucketMeta, bucketDomains, bucketDomainAdmins}
	return append(b, domainScoped()...)
}

// AppliedIndex returns the raft index and term of the last log entry applied to this
// store, recorded in the same transaction as the data it produced.
func AppliedIndex(tx *bolt.Tx) (index, term uint64) {
	v := tx.Bucket(bucketMeta).Get(keyApplied)
	if len(v) != 16 {
		return 0, 0
	}
	return binary.BigEndian.Uint64(v[:8]), binary.BigEndian.Uint64(v[8:])
}

// SetAppliedIndex records the last applied raft index and term.
func SetAppliedIndex(tx *bolt.Tx, index, term uint64) error {
	v := make([]byte, 16)
	binary.BigEndian.PutUint64(v[:8], index)
	binary.BigEndian.PutUint64(v[8:], term)
	return tx.Bucket(bucketMeta).Put(keyApplied, v)
}

// domainKey builds "domain\x00rest".
func domainKey(domain, rest string) []byte {
	k := make([]byte, 0, len(domain)+1+len(rest))
	k = append(k, domain...)
	k = append(k, 0)
	return append(k, rest...)
}

func domainPrefix(domain string) []byte { return domainKey(domain, "") }
