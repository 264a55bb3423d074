package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Domain removal step: queued offline messages and their per-user counters.
func init() { registerDomainData("offline", 30, bucketOffline, bucketOfflineMeta) }

// Offline messages (XEP-0160) live in bucketOffline under
// "domain\x00user\x00<big-endian sequence>", so a cursor walks a user's queue in
// arrival order, and every user with a queue has "domain\x00user" in
// bucketOfflineMeta: the next sequence number and the queue length. Both buckets are
// domain-scoped. The XML is stored as the XMPP layer serialised it (with its delay
// stamp): the store does not parse stanzas.

var (
	bucketOffline     = []byte("offline")
	bucketOfflineMeta = []byte("offline_meta")
)

// ErrOfflineFull refuses a batch that would take a user's queue past its limit.
var ErrOfflineFull = newCodeErr("offline_full", "Offline message queue is full")

// OfflineRecord is one message to store.
type OfflineRecord struct {
	Domain, User string
	XML          string
	// Limit is the queue length the record may not exceed (0: no limit), decided by
	// the proposer from the access rule, so Apply stays deterministic.
	Limit int
	// Dynamic is set by the proposer for dynamic domains (see acceptsData).
	Dynamic bool
}

// StoreOffline appends messages to their users' queues: a whole batch in one raft
// entry. It fails (and writes nothing) with ErrOfflineFull when any queue would pass
// its record's limit, so the proposer can drop the offending records and retry.
type StoreOffline struct {
	Records []OfflineRecord
}

type offlineMeta struct{ next, count uint64 }

func readOfflineMeta(b *bolt.Bucket, key []byte) offlineMeta {
	v := b.Get(key)
	if len(v) != 16 {
		return offlineMeta{}
	}
	return offlineMeta{binary.BigEndian.Uint64(v[:8]), binary.BigEndian.Uint64(v[8:])}
}

func (m offlineMeta) encode() []byte {
	v := make([]byte, 16)
	binary.BigEndian.PutUint64(v[:8], m.next)
	binary.BigEndian.PutUint64(v[8:], m.count)
	return v
}

func offlineUserKey(domain, user string) []byte { return domainKey(domain, user) }

// Apply implements Mutation.
func (m *StoreOffline) Apply(tx *bolt.Tx) (any, error) {
	meta := tx.Bucket(bucketOfflineMeta)
	data := tx.Bucket(bucketOffline)
	// Validate the whole batch before writing anything.
	state := map[string]offlineMeta{}
	records := m.Records[:0:0]
	accepts := map[string]bool{}
	for _, r := range m.Records {
		if r.Domain == "" || r.User == "" {
			return nil, fmt.Errorf("store: offline record without domain or user")
		}
		ok, seen := accepts[r.Domain]
		if !seen {
			ok = acceptsData(tx, r.Domain, r.Dynamic)
			accepts[r.Domain] = ok
		}
		if ok {
			records = append(records, r)
		}
	}
	// A record for a domain being removed is dropped: the queue it would join is
	// being deleted, and the other records of the batch belong to other senders.
	for _, r := range records {
		k := string(offlineUserKey(r.Domain, r.User))
		st, ok := state[k]
		if !ok {
			st = readOfflineMeta(meta, []byte(k))
		}
		if r.Limit > 0 && st.count+1 > uint64(r.Limit) {
			return nil, ErrOfflineFull
		}
		st.count++
		state[k] = st
	}
	for k := range state {
		st := readOfflineMeta(meta, []byte(k))
		state[k] = st
	}
	for _, r := range records {
		k := string(offlineUserKey(r.Domain, r.User))
		st := state[k]
		key := binary.BigEndian.AppendUint64(append([]byte(k), 0), st.next)
		if err := data.Put(key, []byte(r.XML)); err != nil {
			return nil, fmt.Errorf("store: offline put: %w", err)
		}
		st.next++
		st.count++
		state[k] = st
	}
	for k, st := range state {
		if err := meta.Put([]byte(k), st.encode()); err != nil {
			return nil, fmt.Errorf("store: offline meta: %w", err)
		}
	}
	return nil, nil
}

// DeleteOffline removes a user's messages up to and including sequence Upto: those a
// delivery read. Messages stored after that read stay.
type DeleteOffline struct {
	Domain, User string
	Upto         uint64
}

// Apply implements Mutation.
func (m *DeleteOffline) Apply(tx *bolt.Tx) (any, error) {
	meta := tx.Bucket(bucketOfflineMeta)
	data := tx.Bucket(bucketOffline)
	uk := offlineUserKey(m.Domain, m.User)
	prefix := append(bytes.Clone(uk), 0)
	var keys [][]byte
	c := data.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) != len(prefix)+8 || binary.BigEndian.Uint64(k[len(prefix):]) > m.Upto {
			break
		}
		keys = append(keys, bytes.Clone(k))
	}
	if len(keys) == 0 {
		return nil, nil
	}
	for _, k := range keys {
		if err := data.Delete(k); err != nil {
			return nil, fmt.Errorf("store: offline delete: %w", err)
		}
	}
	st := readOfflineMeta(meta, uk)
	st.count -= min(st.count, uint64(len(keys)))
	// The sequence counter stays even when the queue is empty, so a message stored
	// later never reuses a sequence number a concurrent reader may still hold.
	if err := meta.Put(uk, st.encode()); err != nil {
		return nil, fmt.Errorf("store: offline meta: %w", err)
	}
	return nil, nil
}

// OfflineMessage is a stored message and its sequence number.
type OfflineMessage struct {
	Seq uint64
	XML string
}

// OfflineMessages returns a user's queue in arrival order.
func OfflineMessages(tx *bolt.Tx, domain, user string) []OfflineMessage {
	prefix := append(offlineUserKey(domain, user), 0)
	var out []OfflineMessage
	c := tx.Bucket(bucketOffline).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != len(prefix)+8 {
			continue
		}
		out = append(out, OfflineMessage{Seq: binary.BigEndian.Uint64(k[len(prefix):]), XML: string(v)})
	}
	return out
}

// OfflineLastSeq returns the sequence number of the last message of a user's
// queue, 0 when the queue is empty, from the queue's meta record alone.
func OfflineLastSeq(tx *bolt.Tx, domain, user string) uint64 {
	m := readOfflineMeta(tx.Bucket(bucketOfflineMeta), offlineUserKey(domain, user))
	if m.count == 0 {
		return 0
	}
	return m.next - 1
}

// OfflineCount returns the length of a user's queue.
func OfflineCount(tx *bolt.Tx, domain, user string) int {
	return int(readOfflineMeta(tx.Bucket(bucketOfflineMeta), offlineUserKey(domain, user)).count)
}
