package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Domain removal step: roster items and roster versions.
func init() { registerDomainData("roster", 40, bucketRoster, bucketRosterVersions) }

// Rosters (RFC 6121) live in bucketRoster under "domain\x00user\x00contact", one key per
// contact JID, and every user has a version counter in bucketRosterVersions under
// "domain\x00user" (XEP-0237 roster versioning). Both buckets are domain-scoped.
//
// Writes are optimistic: a proposer reads an item, decides its next state (the
// subscription state machine lives in xmpp/roster, not here), and proposes it together
// with the version of the item it read. Apply refuses the write with ErrRosterConflict
// when the item changed in between, and the proposer reads again. Every write gives the
// item the user's next version number, so the version an item carries identifies its
// state, and a roster push can quote it.

var (
	bucketRoster         = []byte("roster")
	bucketRosterVersions = []byte("roster_versions")
)

// Subscription is an item's subscription state (RFC 6121 section 2.1.2.5).
type Subscription uint8

// Subscription states.
const (
	SubNone Subscription = iota
	SubTo                // the user receives the contact's presence
	SubFrom              // the contact receives the user's presence
	SubBoth
)

func (s Subscription) String() string {
	switch s {
	case SubNone:
		return "none"
	case SubTo:
		return "to"
	case SubFrom:
		return "from"
	case SubBoth:
		return "both"
	}
	return fmt.Sprintf("subscription(%d)", uint8(s))
}

// HasTo reports whether the user is subscribed to the contact's presence.
func (s Subscription) HasTo() bool { return s == SubTo || s == SubBoth }

// HasFrom reports whether the contact is subscribed to the user's presence.
func (s Subscription) HasFrom() bool { return s == SubFrom || s == SubBoth }

// RosterItem is one contact in a user's roster.
type RosterItem struct {
	// Contact is the contact's JID as prepared by the XMPP layer (the key suffix).
	Contact string
	Name    string
	Groups  []string
	Sub     Subscription
	// PendingOut: the user asked for the contact's presence (ask="subscribe").
	PendingOut bool
	// PendingIn: the contact asked for the user's presence and the user has not
	// answered; Request is that subscription request, kept for redelivery.
	PendingIn bool
	Request   string
	// Approved: the user pre-approved a subscription request (RFC 6121 section 3.4).
	Approved bool
	// Listed: the user put the contact in the roster (a roster set, a subscription or an
	// approval). An item that only holds an inbound request is not listed, and clients
	// do not see it (RFC 6121 Appendix A.1, "None + Pending In").
	Listed bool
	// Ver is the roster version of the item's last change; Apply sets it.
	Ver uint64
}

// Visible reports whether the item belongs in the roster the user sees.
func (it RosterItem) Visible() bool {
	return it.Listed || it.Sub != SubNone || it.PendingOut || it.Approved
}

// Item flags in the encoded value.
const (
	flagPendingOut byte = 1 << 2
	flagPendingIn  byte = 1 << 3
	flagApproved   byte = 1 << 4
	flagListed     byte = 1 << 5
	subMask        byte = 3

	rosterFormat byte = 1
)

// MaxContactLen bounds a contact JID (three parts of at most 1023 bytes and two
// separators, RFC 7622 section 3.1).
const MaxContactLen = 3071

func encodeRosterItem(it RosterItem) []byte {
	n := 2 + binary.MaxVarintLen64 + len(it.Name) + len(it.Request) + 3*binary.MaxVarintLen32
	for _, g := range it.Groups {
		n += len(g) + binary.MaxVarintLen32
	}
	v := make([]byte, 0, n)
	flags := byte(it.Sub) & subMask
	for _, f := range []struct {
		on bool
		b  byte
	}{{it.PendingOut, flagPendingOut}, {it.PendingIn, flagPendingIn}, {it.Approved, flagApproved}, {it.Listed, flagListed}} {
		if f.on {
			flags |= f.b
		}
	}
	v = append(v, rosterFormat, flags)
	v = binary.AppendUvarint(v, it.Ver)
	v = appendString(v, it.Name)
	v = binary.AppendUvarint(v, uint64(len(it.Groups)))
	for _, g := range it.Groups {
		v = appendString(v, g)
	}
	return appendString(v, it.Request)
}

func appendString(v []byte, s string) []byte {
	v = binary.AppendUvarint(v, uint64(len(s)))
	return append(v, s...)
}

var errCorruptItem = errors.New("store: corrupt roster item")

func decodeRosterItem(contact string, v []byte) (RosterItem, error) {
	if len(v) < 2 || v[0] != rosterFormat {
		return RosterItem{}, errCorruptItem
	}
	flags := v[1]
	it := RosterItem{
		Contact:    contact,
		Sub:        Subscription(flags & subMask),
		PendingOut: flags&flagPendingOut != 0,
		PendingIn:  flags&flagPendingIn != 0,
		Approved:   flags&flagApproved != 0,
		Listed:     flags&flagListed != 0,
	}
	r := v[2:]
	var ok bool
	if it.Ver, r, ok = readUvarint(r); !ok {
		return RosterItem{}, errCorruptItem
	}
	if it.Name, r, ok = readString(r); !ok {
		return RosterItem{}, errCorruptItem
	}
	var n uint64
	if n, r, ok = readUvarint(r); !ok || n > uint64(len(r)) {
		return RosterItem{}, errCorruptItem
	}
	if n > 0 {
		it.Groups = make([]string, n)
		for i := range it.Groups {
			if it.Groups[i], r, ok = readString(r); !ok {
				return RosterItem{}, errCorruptItem
			}
		}
	}
	if it.Request, r, ok = readString(r); !ok || len(r) != 0 {
		return RosterItem{}, errCorruptItem
	}
	return it, nil
}

func readUvarint(b []byte) (uint64, []byte, bool) {
	x, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, false
	}
	return x, b[n:], true
}

func readString(b []byte) (string, []byte, bool) {
	n, r, ok := readUvarint(b)
	if !ok || n > uint64(len(r)) {
		return "", nil, false
	}
	return string(r[:n]), r[n:], true
}

// rosterPrefix is "domain\x00user\x00", the prefix of a user's items.
func rosterPrefix(domain, user string) []byte { return domainKey(domain, user+"\x00") }

func rosterKey(domain, user, contact string) []byte {
	return append(rosterPrefix(domain, user), contact...)
}

// GetRosterItem reads one item of a user's roster. A stored item that cannot be decoded
// is reported as an error rather than as missing, so that nobody overwrites it blindly.
func GetRosterItem(tx *bolt.Tx, domain, user, contact string) (RosterItem, bool, error) {
	v := tx.Bucket(bucketRoster).Get(rosterKey(domain, user, contact))
	if v == nil {
		return RosterItem{}, false, nil
	}
	it, err := decodeRosterItem(contact, v)
	if err != nil {
		return RosterItem{}, false, fmt.Errorf("%w: %s/%s/%s", err, domain, user, contact)
	}
	return it, true, nil
}

// ForEachRosterItem calls fn for every item of a user's roster, hidden ones included,
// in contact order. An error from fn stops the walk and is returned.
func ForEachRosterItem(tx *bolt.Tx, domain, user string, fn func(RosterItem) error) error {
	prefix := rosterPrefix(domain, user)
	c := tx.Bucket(bucketRoster).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		it, err := decodeRosterItem(string(k[len(prefix):]), v)
		if err != nil {
			return fmt.Errorf("%w: %q", err, k)
		}
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}

// ForEachRosterSubscription calls fn for every item of a user's roster with a
// subscription either way, with only the contact and the subscription decoded: the
// presence broadcast path, which reads a roster per presence change.
func ForEachRosterSubscription(tx *bolt.Tx, domain, user string, fn func(contact string, sub Subscription) error) error {
	prefix := rosterPrefix(domain, user)
	c := tx.Bucket(bucketRoster).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(v) < 2 || v[0] != rosterFormat {
			return fmt.Errorf("%w: %q", errCorruptItem, k)
		}
		if sub := Subscription(v[1] & subMask); sub != SubNone {
			if err := fn(string(k[len(prefix):]), sub); err != nil {
				return err
			}
		}
	}
	return nil
}

// RosterVersion returns the version of a user's roster: 0 for a user who never had one,
// then one more for every change.
func RosterVersion(tx *bolt.Tx, domain, user string) uint64 {
	v := tx.Bucket(bucketRosterVersions).Get(domainKey(domain, user))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func bumpRosterVersion(tx *bolt.Tx, domain, user string) (uint64, error) {
	ver := RosterVersion(tx, domain, user) + 1
	err := tx.Bucket(bucketRosterVersions).Put(domainKey(domain, user), binary.BigEndian.AppendUint64(nil, ver))
	return ver, err
}

// ErrRosterConflict means the item changed between the proposer's read and the write;
// the proposer reads it again and retries.
var ErrRosterConflict = newCodeErr("roster_conflict", "Roster item changed concurrently")

// ErrBadRosterItem rejects an item the store cannot key.
var ErrBadRosterItem = newCodeErr("bad_roster_item", "Invalid roster item")

// SetRosterItem writes (or, with Delete, removes) one item of a user's roster, provided
// the item's stored version is still ExpectVer (0: no item). The account must exist and
// its domain be in service (Static is set by the proposer for configured hosts).
type SetRosterItem struct {
	Domain    string
	User      string
	Static    bool
	ExpectVer uint64
	Delete    bool
	Item      RosterItem
}

func (m *SetRosterItem) Apply(tx *bolt.Tx) (any, error) {
	c := m.Item.Contact
	if c == "" || len(c) > MaxContactLen || strings.IndexByte(c, 0) >= 0 || strings.IndexByte(m.User, 0) >= 0 {
		return nil, ErrBadRosterItem
	}
	if err := checkDomainServes(tx, m.Domain, m.Static); err != nil {
		return nil, err
	}
	if _, ok := GetUserCreds(tx, m.Domain, m.User); !ok {
		return nil, ErrUserNotFound
	}
	b := tx.Bucket(bucketRoster)
	k := rosterKey(m.Domain, m.User, c)
	var cur uint64
	if v := b.Get(k); v != nil {
		old, err := decodeRosterItem(c, v)
		if err != nil {
			return nil, err
		}
		cur = old.Ver
	}
	if cur != m.ExpectVer {
		return nil, ErrRosterConflict
	}
	if m.Delete && cur == 0 {
		return nil, nil
	}
	ver, err := bumpRosterVersion(tx, m.Domain, m.User)
	if err != nil {
		return nil, err
	}
	if m.Delete {
		return nil, b.Delete(k)
	}
	it := m.Item
	it.Ver = ver
	return nil, b.Put(k, encodeRosterItem(it))
}

// RemoveRoster deletes every item of a user's roster (the account was removed). The
// version counter survives, so a client that cached the old roster never mistakes a new
// account's roster for it.
type RemoveRoster struct {
	Domain string
	User   string
}

func (m *RemoveRoster) Apply(tx *bolt.Tx) (any, error) {
	prefix := rosterPrefix(m.Domain, m.User)
	c := tx.Bucket(bucketRoster).Cursor()
	n := 0
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return nil, err
		}
		n++
	}
	if n > 0 {
		if _, err := bumpRosterVersion(tx, m.Domain, m.User); err != nil {
			return nil, err
		}
	}
	return nil, nil
}
