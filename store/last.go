package store

import (
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// Domain removal step: last activity.
func init() { registerDomainData("last", 50, bucketLast) }

// Last activity (XEP-0012) lives in bucketLast under "domain\x00user": when the user's
// last session ended (Unix seconds, big-endian) and the status of its last unavailable
// presence.

var bucketLast = []byte("last")

// MaxLastStatus bounds the stored status text.
const MaxLastStatus = 1024

// LastActivity is a user's last logout.
type LastActivity struct {
	Time   int64 // Unix seconds
	Status string
}

// SetLast records a user's last logout. The time is decided by the proposer.
type SetLast struct {
	Domain string
	User   string
	Time   int64
	Status string
	// Static is set by the proposer for configured hosts.
	Static bool
}

func (m *SetLast) Apply(tx *bolt.Tx) (any, error) {
	// A logout may be recorded while the domain is disabled (that is what closes its
	// sessions), but not once its removal started: the purge must not race a write
	// that would leave a row behind.
	if !m.Static {
		if d, ok := GetDomain(tx, m.Domain); !ok || d.Status == StatusDeleting {
			return nil, ErrDomainDisabled
		}
	}
	st := m.Status
	if len(st) > MaxLastStatus {
		st = st[:MaxLastStatus]
	}
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(st)), uint64(m.Time))
	return nil, tx.Bucket(bucketLast).Put(domainKey(m.Domain, m.User), append(v, st...))
}

// GetLast reads a user's last logout.
func GetLast(tx *bolt.Tx, domain, user string) (LastActivity, bool) {
	v := tx.Bucket(bucketLast).Get(domainKey(domain, user))
	if len(v) < 8 {
		return LastActivity{}, false
	}
	return LastActivity{Time: int64(binary.BigEndian.Uint64(v[:8])), Status: string(v[8:])}, true
}
