package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// DomainStatus values match MongooseIM's domain_settings.status column.
type DomainStatus uint8

const (
	StatusDisabled DomainStatus = 0
	StatusEnabled  DomainStatus = 1
	StatusDeleting DomainStatus = 2
)

func (s DomainStatus) String() string {
	switch s {
	case StatusDisabled:
		return "disabled"
	case StatusEnabled:
		return "enabled"
	case StatusDeleting:
		return "deleting"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Domain is a dynamic domain's row. Static domains never reach the store.
type Domain struct {
	Name     string
	HostType string
	Status   DomainStatus
	// Incarnation numbers each addition of a name, cluster-wide (0 for rows written
	// before it existed). A domain removed and added again is a new tenant; what
	// the old one's sessions do as they close must not reach the new one.
	Incarnation uint64
}

// rowIncarnation flags the status byte of rows that carry an incarnation: statuses
// are small, so old rows never have the bit.
const rowIncarnation = 0x80

func encodeDomain(d Domain) []byte {
	v := make([]byte, 0, 1+binary.MaxVarintLen64+len(d.HostType))
	if d.Incarnation == 0 {
		v = append(v, byte(d.Status))
	} else {
		v = append(v, byte(d.Status)|rowIncarnation)
		v = binary.AppendUvarint(v, d.Incarnation)
	}
	return append(v, d.HostType...)
}

func decodeDomain(name, v []byte) Domain {
	if len(v) == 0 {
		return Domain{Name: string(name)}
	}
	d := Domain{Name: string(name), Status: DomainStatus(v[0] &^ rowIncarnation)}
	rest := v[1:]
	if v[0]&rowIncarnation != 0 {
		inc, n := binary.Uvarint(rest)
		if n > 0 {
			d.Incarnation, rest = inc, rest[n:]
		}
	}
	d.HostType = string(rest)
	return d
}

var keyIncarnation = []byte("domain_incarnation")

// GetDomain reads one dynamic domain.
func GetDomain(tx *bolt.Tx, name string) (Domain, bool) {
	v := tx.Bucket(bucketDomains).Get([]byte(name))
	if v == nil {
		return Domain{}, false
	}
	return decodeDomain([]byte(name), v), true
}

// ForEachDomain calls fn for every dynamic domain in name order; a non-nil error from fn
// stops the walk and is returned.
func ForEachDomain(tx *bolt.Tx, fn func(Domain) error) error {
	return tx.Bucket(bucketDomains).ForEach(func(k, v []byte) error {
		return fn(decodeDomain(k, v))
	})
}

// CountDomains returns the number of dynamic domains.
func CountDomains(tx *bolt.Tx) int {
	return tx.Bucket(bucketDomains).Stats().KeyN
}

func putDomain(tx *bolt.Tx, d Domain) error {
	return tx.Bucket(bucketDomains).Put([]byte(d.Name), encodeDomain(d))
}

// AddDomain inserts an enabled dynamic domain. Any existing row, whatever its host type
// or status, makes it a duplicate (MongooseIM insert_domain).
type AddDomain struct {
	Name     string
	HostType string
}

func (m *AddDomain) Apply(tx *bolt.Tx) (any, error) {
	if _, ok := GetDomain(tx, m.Name); ok {
		return nil, ErrDomainExists
	}
	meta := tx.Bucket(bucketMeta)
	var inc uint64 = 1
	if v := meta.Get(keyIncarnation); len(v) == 8 {
		inc = binary.BigEndian.Uint64(v) + 1
	}
	if err := meta.Put(keyIncarnation, binary.BigEndian.AppendUint64(nil, inc)); err != nil {
		return nil, err
	}
	// The value is the incarnation, for the node's in-memory directory.
	return inc, putDomain(tx, Domain{Name: m.Name, HostType: m.HostType, Status: StatusEnabled, Incarnation: inc})
}

// SetDomainEnabled enables or disables a domain. Setting the status it already has is a
// no-op, as in MongooseIM; a domain being deleted cannot change.
type SetDomainEnabled struct {
	Name    string
	Enabled bool
}

func (m *SetDomainEnabled) Apply(tx *bolt.Tx) (any, error) {
	d, ok := GetDomain(tx, m.Name)
	if !ok {
		return nil, ErrDomainNotFound
	}
	if d.Status == StatusDeleting {
		return nil, ErrDomainDeleted
	}
	want := StatusDisabled
	if m.Enabled {
		want = StatusEnabled
	}
	if d.Status == want {
		return nil, nil
	}
	d.Status = want
	return nil, putDomain(tx, d)
}

// MarkDomainDeleting starts a removal: the domain leaves service at once (every node
// drops it from its directory when this entry applies) and its admin password goes.
// Marking a domain that is already deleting succeeds, so a failed removal can resume.
type MarkDomainDeleting struct {
	Name     string
	HostType string
}

func (m *MarkDomainDeleting) Apply(tx *bolt.Tx) (any, error) {
	d, ok := GetDomain(tx, m.Name)
	if !ok {
		return nil, ErrDomainNotFound
	}
	if d.HostType != m.HostType {
		return nil, ErrWrongHostType
	}
	if err := tx.Bucket(bucketDomainAdmins).Delete([]byte(m.Name)); err != nil {
		return nil, err
	}
	if d.Status == StatusDeleting {
		return nil, nil
	}
	d.Status = StatusDeleting
	return nil, putDomain(tx, d)
}

// ErrDomainNotDeleting rejects a purge of a domain that is not being removed.
var ErrDomainNotDeleting = newCodeErr("not_deleting", "Domain is not being deleted")

// DeleteDomainRow ends a removal once PurgeDomain reported Done.
type DeleteDomainRow struct {
	Name string
}

func (m *DeleteDomainRow) Apply(tx *bolt.Tx) (any, error) {
	d, ok := GetDomain(tx, m.Name)
	if !ok {
		return nil, ErrDomainNotFound
	}
	if d.Status != StatusDeleting {
		return nil, fmt.Errorf("store: delete row of %q: %w", m.Name, ErrDomainNotDeleting)
	}
	if HasDomainData(tx, m.Name) {
		return nil, fmt.Errorf("store: delete row of %q: %w", m.Name, ErrDomainHasData)
	}
	return nil, tx.Bucket(bucketDomains).Delete([]byte(m.Name))
}

// ErrDomainHasData rejects dropping a domain row while its data is still there.
var ErrDomainHasData = newCodeErr("has_data", "Domain data is not purged yet")

// SetDomainPassword stores a domain admin's serialised SCRAM-SHA-512 credentials. Only
// static domains (Static set by the proposer, who knows the config) and enabled dynamic
// domains can have one.
type SetDomainPassword struct {
	Domain string
	Static bool
	Creds  string
}

func (m *SetDomainPassword) Apply(tx *bolt.Tx) (any, error) {
	if !m.Static {
		d, ok := GetDomain(tx, m.Domain)
		if !ok || d.Status != StatusEnabled {
			return nil, ErrDomainDisabled
		}
	}
	return nil, tx.Bucket(bucketDomainAdmins).Put([]byte(m.Domain), []byte(m.Creds))
}

// DeleteDomainPassword removes a domain admin password.
type DeleteDomainPassword struct {
	Domain string
}

func (m *DeleteDomainPassword) Apply(tx *bolt.Tx) (any, error) {
	b := tx.Bucket(bucketDomainAdmins)
	if b.Get([]byte(m.Domain)) == nil {
		return nil, ErrDomainPasswordNone
	}
	return nil, b.Delete([]byte(m.Domain))
}

// DomainPassword returns a domain admin's serialised credentials.
func DomainPassword(tx *bolt.Tx, domain string) (string, bool) {
	v := tx.Bucket(bucketDomainAdmins).Get([]byte(domain))
	if v == nil {
		return "", false
	}
	return string(v), true
}
