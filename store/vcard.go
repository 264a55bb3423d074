package store

import (
	"errors"

	bolt "go.etcd.io/bbolt"
)

// Domain removal step: vCards.
func init() { registerDomainData("vcard", 50, bucketVCard) }

// vCards (XEP-0054) live in bucketVCard under "domain\x00user", the serialised
// <vCard xmlns='vcard-temp'/> element as the client sent it. The XMPP layer checks the
// size; the store only refuses what no vCard can be.

var bucketVCard = []byte("vcard")

// MaxVCardSize bounds a stored vCard (the serialised element), 64 KiB.
const MaxVCardSize = 64 << 10

// ErrVCardTooLarge is a vCard over MaxVCardSize.
var ErrVCardTooLarge = newCodeErr("vcard_too_large", "vCard too large")

// SetVCard stores a user's vCard; an empty XML deletes it.
type SetVCard struct {
	Domain string
	User   string
	XML    string
	// Static is set by the proposer for configured hosts (see checkDomainServes).
	Static bool
}

func (m *SetVCard) Apply(tx *bolt.Tx) (any, error) {
	if len(m.XML) > MaxVCardSize {
		return nil, ErrVCardTooLarge
	}
	if m.User == "" {
		return nil, errors.New("store: vCard without user")
	}
	if err := checkDomainServes(tx, m.Domain, m.Static); err != nil {
		return nil, err
	}
	b := tx.Bucket(bucketVCard)
	k := domainKey(m.Domain, m.User)
	if m.XML == "" {
		return nil, b.Delete(k)
	}
	return nil, b.Put(k, []byte(m.XML))
}

// GetVCard reads a user's vCard, "" when there is none.
func GetVCard(tx *bolt.Tx, domain, user string) string {
	return string(tx.Bucket(bucketVCard).Get(domainKey(domain, user)))
}
