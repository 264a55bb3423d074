// Package jid implements XMPP addresses (RFC 7622) as immutable, normalised
// values.
//
// A JID is parsed and prepared once, at the edge; after that it is a plain
// comparable value that can be used as a map key and compared with ==, because
// two JIDs that denote the same entity always have identical parts.
package jid

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; every error returned by this package wraps one of them.
var (
	ErrInvalidLocal    = errors.New("jid: invalid localpart")
	ErrInvalidDomain   = errors.New("jid: invalid domainpart")
	ErrInvalidResource = errors.New("jid: invalid resourcepart")
)

// MaxPartLen is the maximum length in bytes of each part of a JID, both as
// given and after preparation (RFC 7622 section 3.1; MongooseIM checks both).
const MaxPartLen = 1023

// JID is an XMPP address. The zero value is the empty JID (IsZero reports
// true) and is not a valid address. JIDs are comparable; == is equivalent to
// Equal.
type JID struct {
	local    string
	domain   string
	resource string
}

// Parse splits s into its parts as RFC 7622 section 3.2 describes (the
// resourcepart starts at the first '/', the localpart ends at the first '@'
// before it) and prepares each part.
func Parse(s string) (JID, error) {
	var local, domain, resource string
	hasLocal, hasResource := false, false
	rest := s
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		resource, rest, hasResource = rest[i+1:], rest[:i], true
	}
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		local, domain, hasLocal = rest[:i], rest[i+1:], true
	} else {
		domain = rest
	}
	// A separator followed by nothing is an error, not an absent part.
	if hasLocal && local == "" {
		return JID{}, fmt.Errorf("%w: empty localpart in %q", ErrInvalidLocal, s)
	}
	if hasResource && resource == "" {
		return JID{}, fmt.Errorf("%w: empty resourcepart in %q", ErrInvalidResource, s)
	}
	return New(local, domain, resource)
}

// MustParse is like Parse but panics on error. It is meant for constants in
// tests and program initialisation.
func MustParse(s string) JID {
	j, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return j
}

// New prepares the three parts and builds a JID. local and resource may be
// empty (meaning absent); domain may not.
func New(local, domain, resource string) (JID, error) {
	var j JID
	var err error
	if j.domain, err = prepDomain(domain); err != nil {
		return JID{}, err
	}
	if local != "" {
		if j.local, err = prepLocal(local); err != nil {
			return JID{}, err
		}
	}
	if resource != "" {
		if j.resource, err = prepResource(resource); err != nil {
			return JID{}, err
		}
	}
	return j, nil
}

// Local returns the prepared localpart, or "" if there is none.
func (j JID) Local() string { return j.local }

// Domain returns the prepared domainpart (Unicode form, lowercase, without a
// trailing dot).
func (j JID) Domain() string { return j.domain }

// Resource returns the prepared resourcepart, or "" if there is none.
func (j JID) Resource() string { return j.resource }

// Bare returns the JID without its resourcepart.
func (j JID) Bare() JID { return JID{local: j.local, domain: j.domain} }

// IsBare reports whether the JID has no resourcepart.
func (j JID) IsBare() bool { return j.resource == "" }

// IsZero reports whether j is the zero JID.
func (j JID) IsZero() bool { return j == JID{} }

// Equal reports whether j and o are the same address. Because parts are
// prepared at construction this is plain equality.
func (j JID) Equal(o JID) bool { return j == o }

// WithResource returns a copy of j with the resourcepart replaced by r,
// prepared. An empty r yields the bare JID.
func (j JID) WithResource(r string) (JID, error) {
	if r == "" {
		return j.Bare(), nil
	}
	p, err := prepResource(r)
	if err != nil {
		return JID{}, err
	}
	return JID{local: j.local, domain: j.domain, resource: p}, nil
}

// String returns the JID in its canonical textual form
// [local@]domain[/resource], or "" for the zero JID.
func (j JID) String() string {
	n := len(j.domain)
	if j.local != "" {
		n += len(j.local) + 1
	}
	if j.resource != "" {
		n += len(j.resource) + 1
	}
	var b strings.Builder
	b.Grow(n)
	if j.local != "" {
		b.WriteString(j.local)
		b.WriteByte('@')
	}
	b.WriteString(j.domain)
	if j.resource != "" {
		b.WriteByte('/')
		b.WriteString(j.resource)
	}
	return b.String()
}

// MarshalText implements encoding.TextMarshaler.
func (j JID) MarshalText() ([]byte, error) { return []byte(j.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler. Empty text yields the
// zero JID.
func (j *JID) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*j = JID{}
		return nil
	}
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*j = p
	return nil
}
