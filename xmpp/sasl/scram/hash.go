package scram

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"strings"
)

// Hash identifies the hash function of a SCRAM mechanism.
type Hash int

// The supported hash functions, in MongooseIM's serialisation order.
const (
	SHA1 Hash = iota + 1
	SHA224
	SHA256
	SHA384
	SHA512
)

// hashInfo describes one Hash. name is MongooseIM's password.hash value; the
// serialisation prefix is 10 bytes in every case, which MongooseIM's parser
// relies on.
var hashInfo = [...]struct {
	name   string
	mech   string
	prefix string
	size   int
	new    func() hash.Hash
}{
	SHA1:   {"sha", "SCRAM-SHA-1", "===SHA1===", sha1.Size, sha1.New},
	SHA224: {"sha224", "SCRAM-SHA-224", "==SHA224==", sha256.Size224, sha256.New224},
	SHA256: {"sha256", "SCRAM-SHA-256", "==SHA256==", sha256.Size, sha256.New},
	SHA384: {"sha384", "SCRAM-SHA-384", "==SHA384==", sha512.Size384, sha512.New384},
	SHA512: {"sha512", "SCRAM-SHA-512", "==SHA512==", sha512.Size, sha512.New},
}

// AllHashes returns every supported hash, weakest first (MongooseIM's
// default for password.hash).
func AllHashes() []Hash { return []Hash{SHA1, SHA224, SHA256, SHA384, SHA512} }

// Valid reports whether h is one of the supported hashes.
func (h Hash) Valid() bool { return h >= SHA1 && h <= SHA512 }

// String returns MongooseIM's name for h: "sha", "sha224", "sha256", "sha384"
// or "sha512".
func (h Hash) String() string {
	if !h.Valid() {
		return fmt.Sprintf("Hash(%d)", int(h))
	}
	return hashInfo[h].name
}

// Mechanism returns the SASL mechanism name, e.g. "SCRAM-SHA-256".
func (h Hash) Mechanism() string {
	if !h.Valid() {
		return ""
	}
	return hashInfo[h].mech
}

// PlusMechanism returns the channel-binding variant, e.g.
// "SCRAM-SHA-256-PLUS".
func (h Hash) PlusMechanism() string {
	if !h.Valid() {
		return ""
	}
	return hashInfo[h].mech + "-PLUS"
}

// Size returns the digest size in bytes (the length of keys and proofs).
func (h Hash) Size() int {
	if !h.Valid() {
		return 0
	}
	return hashInfo[h].size
}

// New returns a new hash.Hash computing h. It panics if h is not Valid.
func (h Hash) New() hash.Hash {
	if !h.Valid() {
		panic("scram: invalid hash " + h.String())
	}
	return hashInfo[h].new()
}

// ParseHash parses MongooseIM's name for a hash ("sha", "sha224", ...).
func ParseHash(name string) (Hash, error) {
	for h := SHA1; h <= SHA512; h++ {
		if hashInfo[h].name == name {
			return h, nil
		}
	}
	return 0, fmt.Errorf("scram: unknown hash %q (want sha, sha224, sha256, sha384 or sha512)", name)
}

// MarshalText implements encoding.TextMarshaler, so a Hash reads and writes
// as its MongooseIM name in configuration files.
func (h Hash) MarshalText() ([]byte, error) {
	if !h.Valid() {
		return nil, fmt.Errorf("scram: invalid hash %d", int(h))
	}
	return []byte(h.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Hash) UnmarshalText(b []byte) error {
	p, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

// ParseMechanism splits a SASL mechanism name such as "SCRAM-SHA-1-PLUS" into
// its hash and whether it is the channel-binding variant. Mechanism names
// are case-sensitive (RFC 4422 section 3.1).
func ParseMechanism(mech string) (h Hash, plus bool, err error) {
	base, plus := strings.CutSuffix(mech, "-PLUS")
	for h := SHA1; h <= SHA512; h++ {
		if hashInfo[h].mech == base {
			return h, plus, nil
		}
	}
	return 0, false, fmt.Errorf("%w: %q is not a SCRAM mechanism", ErrInvalidMechanism, mech)
}
