package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	"golang.org/x/text/secure/precis"
)

// SaltLen is the length of the random salt Derive draws per hash, as in
// MongooseIM.
const SaltLen = 16

// DefaultIterations is MongooseIM's default password.scram_iterations.
const DefaultIterations = 10000

// ErrInvalidPassword is returned when a password is empty or not valid under
// the PRECIS OpaqueString profile (RFC 8265), e.g. it holds control
// characters.
var ErrInvalidPassword = errors.New("scram: invalid password")

// ErrBadSerialization is returned by Unmarshal for text that is not a
// MongooseIM SCRAM serialisation.
var ErrBadSerialization = errors.New("scram: bad serialized credentials")

// Credential is what the server stores for one hash: RFC 5802's salt,
// iteration count, StoredKey and ServerKey. The password cannot be
// recovered from it.
type Credential struct {
	Hash       Hash
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// Credentials is a user's stored password: SCRAM credentials for one or more
// hashes (password.format = "scram") or, with password.format = "plain", the
// password itself in Plain and ByHash empty; SCRAM data is then computed at
// authentication time.
type Credentials struct {
	// Iterations is shared by all entries of ByHash, as MongooseIM's format
	// has a single iteration count.
	Iterations int
	Plain      string
	ByHash     map[Hash]Credential
}

// preparePassword applies OpaqueString, the PRECIS successor of SASLprep that
// RFC 7677 and RFC 8265 call for. MongooseIM applies stringprep's
// resourceprep here instead; the two agree on ASCII passwords, which is what
// matters for credentials imported from it.
func preparePassword(password string) (string, error) {
	p, err := precis.OpaqueString.String(password)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidPassword, err)
	}
	return p, nil
}

// NewCredential computes the credential for one hash from a password, salt
// and iteration count.
func NewCredential(h Hash, password string, salt []byte, iterations int) (Credential, error) {
	if !h.Valid() {
		return Credential{}, fmt.Errorf("scram: invalid hash %d", int(h))
	}
	if iterations < 1 {
		return Credential{}, fmt.Errorf("scram: iteration count %d, want at least 1", iterations)
	}
	if len(salt) == 0 {
		return Credential{}, errors.New("scram: empty salt")
	}
	p, err := preparePassword(password)
	if err != nil {
		return Credential{}, err
	}
	salted, err := saltedPassword(h, p, salt, iterations)
	if err != nil {
		return Credential{}, err
	}
	return credentialFromSalted(h, salted, salt, iterations), nil
}

func saltedPassword(h Hash, prepared string, salt []byte, iterations int) ([]byte, error) {
	k, err := pbkdf2.Key(hashInfo[h].new, prepared, salt, iterations, h.Size())
	if err != nil {
		return nil, fmt.Errorf("scram: pbkdf2: %w", err)
	}
	return k, nil
}

func credentialFromSalted(h Hash, salted, salt []byte, iterations int) Credential {
	clientKey := hmacSum(h, salted, []byte("Client Key"))
	stored := h.New()
	stored.Write(clientKey)
	return Credential{
		Hash:       h,
		Salt:       append([]byte(nil), salt...),
		Iterations: iterations,
		StoredKey:  stored.Sum(nil),
		ServerKey:  hmacSum(h, salted, []byte("Server Key")),
	}
}

func hmacSum(h Hash, key, msg []byte) []byte {
	m := hmac.New(func() hash.Hash { return h.New() }, key)
	m.Write(msg)
	return m.Sum(nil)
}

// Derive computes SCRAM credentials for each of hashes with a fresh random
// salt of SaltLen bytes per hash, read from random (crypto/rand when nil).
// It is deliberately slow (iterations PBKDF2 rounds per hash) and must run
// before a write is proposed, never inside a state-machine apply.
func Derive(password string, iterations int, hashes []Hash, random io.Reader) (Credentials, error) {
	if len(hashes) == 0 {
		return Credentials{}, errors.New("scram: no hashes to derive")
	}
	if random == nil {
		random = rand.Reader
	}
	c := Credentials{Iterations: iterations, ByHash: make(map[Hash]Credential, len(hashes))}
	for _, h := range hashes {
		if _, dup := c.ByHash[h]; dup {
			continue
		}
		salt := make([]byte, SaltLen)
		if _, err := io.ReadFull(random, salt); err != nil {
			return Credentials{}, fmt.Errorf("scram: reading salt: %w", err)
		}
		cr, err := NewCredential(h, password, salt, iterations)
		if err != nil {
			return Credentials{}, err
		}
		c.ByHash[h] = cr
	}
	return c, nil
}

// Verify reports whether password matches c, for mechanisms that receive the
// password itself (PLAIN, HTTP Basic auth). For SCRAM credentials it checks
// the strongest stored hash. Comparisons are constant-time.
func Verify(c Credentials, password string) bool {
	p, err := preparePassword(password)
	if err != nil {
		return false
	}
	if len(c.ByHash) == 0 {
		if c.Plain == "" {
			return false
		}
		stored, err := preparePassword(c.Plain)
		if err != nil {
			return false
		}
		return subtle.ConstantTimeCompare([]byte(p), []byte(stored)) == 1
	}
	for h := SHA512; h >= SHA1; h-- {
		cr, ok := c.ByHash[h]
		if !ok {
			continue
		}
		salted, err := saltedPassword(h, p, cr.Salt, cr.Iterations)
		if err != nil {
			return false
		}
		got := credentialFromSalted(h, salted, cr.Salt, cr.Iterations)
		return subtle.ConstantTimeCompare(got.StoredKey, cr.StoredKey)&
			subtle.ConstantTimeCompare(got.ServerKey, cr.ServerKey) == 1
	}
	return false
}

const (
	multiPrefix   = "==MULTI_SCRAM==,"
	legacyPrefix  = "==SCRAM==,"
	hashPrefixLen = 10
)

// Marshal returns the SCRAM credentials in MongooseIM's serialisation
// (doc/developers-guide/SCRAM-serialization.md, mongoose_scram:serialize/1):
//
//	==MULTI_SCRAM==,<iterations>,===SHA1===<salt>|<stored key>|<server key>,==SHA224==...
//
// with base64 fields, one section per stored hash in the order SHA-1,
// SHA-224, SHA-256, SHA-384, SHA-512, each with its own salt. (The published
// doc shows "==SHA512=" with one '=' short; MongooseIM's code writes the
// 10-byte "==SHA512==" used here.) Plain is not part of the format; Marshal
// returns "" when there are no SCRAM credentials.
func (c Credentials) Marshal() string {
	if len(c.ByHash) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(multiPrefix)
	b.WriteString(strconv.Itoa(c.Iterations))
	enc := base64.StdEncoding
	for h := SHA1; h <= SHA512; h++ {
		cr, ok := c.ByHash[h]
		if !ok {
			continue
		}
		b.WriteByte(',')
		b.WriteString(hashInfo[h].prefix)
		b.WriteString(enc.EncodeToString(cr.Salt))
		b.WriteByte('|')
		b.WriteString(enc.EncodeToString(cr.StoredKey))
		b.WriteByte('|')
		b.WriteString(enc.EncodeToString(cr.ServerKey))
	}
	return b.String()
}

// Unmarshal parses MongooseIM's serialisation: the ==MULTI_SCRAM== form that
// Marshal writes and the older single-hash form
// "==SCRAM==,<stored key>,<server key>,<salt>,<iterations>" (SHA-1), so
// exported MongooseIM users can be imported. Errors wrap
// ErrBadSerialization.
func Unmarshal(s string) (Credentials, error) {
	switch {
	case strings.HasPrefix(s, multiPrefix):
		return unmarshalMulti(s[len(multiPrefix):])
	case strings.HasPrefix(s, legacyPrefix):
		f := strings.Split(s[len(legacyPrefix):], ",")
		if len(f) != 4 {
			return Credentials{}, fmt.Errorf("%w: legacy form has %d fields, want 4", ErrBadSerialization, len(f))
		}
		iter, err := parseIterations(f[3])
		if err != nil {
			return Credentials{}, err
		}
		cr, err := decodeCredential(SHA1, iter, f[2], f[0], f[1])
		if err != nil {
			return Credentials{}, err
		}
		return Credentials{Iterations: iter, ByHash: map[Hash]Credential{SHA1: cr}}, nil
	default:
		return Credentials{}, fmt.Errorf("%w: unknown prefix", ErrBadSerialization)
	}
}

func unmarshalMulti(s string) (Credentials, error) {
	f := strings.Split(s, ",")
	iter, err := parseIterations(f[0])
	if err != nil {
		return Credentials{}, err
	}
	if len(f) < 2 {
		return Credentials{}, fmt.Errorf("%w: no hash sections", ErrBadSerialization)
	}
	c := Credentials{Iterations: iter, ByHash: make(map[Hash]Credential, len(f)-1)}
	for _, sec := range f[1:] {
		h, ok := hashByPrefix(sec)
		if !ok {
			return Credentials{}, fmt.Errorf("%w: unknown hash section %.12q", ErrBadSerialization, sec)
		}
		if _, dup := c.ByHash[h]; dup {
			return Credentials{}, fmt.Errorf("%w: duplicate %s section", ErrBadSerialization, h)
		}
		parts := strings.Split(sec[hashPrefixLen:], "|")
		if len(parts) != 3 {
			return Credentials{}, fmt.Errorf("%w: %s section has %d fields, want 3", ErrBadSerialization, h, len(parts))
		}
		cr, err := decodeCredential(h, iter, parts[0], parts[1], parts[2])
		if err != nil {
			return Credentials{}, err
		}
		c.ByHash[h] = cr
	}
	return c, nil
}

func hashByPrefix(sec string) (Hash, bool) {
	if len(sec) < hashPrefixLen {
		return 0, false
	}
	for h := SHA1; h <= SHA512; h++ {
		if sec[:hashPrefixLen] == hashInfo[h].prefix {
			return h, true
		}
	}
	return 0, false
}

func parseIterations(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%w: iteration count %q", ErrBadSerialization, s)
	}
	return n, nil
}

func decodeCredential(h Hash, iter int, salt, stored, server string) (Credential, error) {
	enc := base64.StdEncoding.Strict()
	cr := Credential{Hash: h, Iterations: iter}
	var err error
	if cr.Salt, err = enc.DecodeString(salt); err != nil || len(cr.Salt) == 0 {
		return Credential{}, fmt.Errorf("%w: %s salt", ErrBadSerialization, h)
	}
	if cr.StoredKey, err = enc.DecodeString(stored); err != nil || len(cr.StoredKey) != h.Size() {
		return Credential{}, fmt.Errorf("%w: %s stored key", ErrBadSerialization, h)
	}
	if cr.ServerKey, err = enc.DecodeString(server); err != nil || len(cr.ServerKey) != h.Size() {
		return Credential{}, fmt.Errorf("%w: %s server key", ErrBadSerialization, h)
	}
	return cr, nil
}
