package store

import (
	"errors"

	bolt "go.etcd.io/bbolt"
)

// Domain removal step: private XML storage.
func init() { registerDomainData("private", 50, bucketPrivate) }

// Private XML (XEP-0049) lives in bucketPrivate under "domain\x00user\x00namespace", the
// serialised element the client stored in that namespace.

var bucketPrivate = []byte("private")

// MaxPrivateSize bounds one stored private element, 64 KiB.
const MaxPrivateSize = 64 << 10

// ErrPrivateTooLarge is private XML over MaxPrivateSize.
var ErrPrivateTooLarge = newCodeErr("private_too_large", "Private XML too large")

// PrivateEntry is one namespace's stored element.
type PrivateEntry struct {
	NS  string
	XML string
}

// SetPrivate stores a user's private XML, one element per namespace, all or nothing.
type SetPrivate struct {
	Domain  string
	User    string
	Entries []PrivateEntry
	// Static is set by the proposer for configured hosts (see checkDomainServes).
	Static bool
}

func (m *SetPrivate) Apply(tx *bolt.Tx) (any, error) {
	// Check everything first: a failed mutation writes nothing.
	for _, e := range m.Entries {
		if len(e.XML) > MaxPrivateSize {
			return nil, ErrPrivateTooLarge
		}
		if e.NS == "" || m.User == "" {
			return nil, errors.New("store: private XML without namespace or user")
		}
	}
	if err := checkDomainServes(tx, m.Domain, m.Static); err != nil {
		return nil, err
	}
	b := tx.Bucket(bucketPrivate)
	for _, e := range m.Entries {
		if err := b.Put(privateKey(m.Domain, m.User, e.NS), []byte(e.XML)); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func privateKey(domain, user, ns string) []byte { return domainKey(domain, user+"\x00"+ns) }

// GetPrivate reads the element a user stored in namespace ns, "" when there is none.
func GetPrivate(tx *bolt.Tx, domain, user, ns string) string {
	return string(tx.Bucket(bucketPrivate).Get(privateKey(domain, user, ns)))
}
