package store

import bolt "go.etcd.io/bbolt"

// Mutation is one deterministic change to the store. Apply runs inside the bbolt write
// transaction of a raft batch on every node, so it must depend only on its own fields
// and the transaction: time stamps, ids, salts and hashes are computed before proposing.
//
// Apply must either succeed or return an error WITHOUT having written anything: a batch
// shares one transaction, so a half-applied mutation would be committed with its
// neighbours. Validate first, then write.
type Mutation interface {
	Apply(tx *bolt.Tx) (any, error)
}
