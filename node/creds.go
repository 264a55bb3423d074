package node

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"strings"

	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
)

// plainPrefix marks passwords kept as they are (auth.password.format = "plain"); SCRAM
// credentials use MongooseIM's ==MULTI_SCRAM== serialisation, which never starts so.
const plainPrefix = "==PLAIN=="

// deriveCreds turns a password into what the store keeps. It runs before proposing:
// salts are random and hashing is slow, neither belongs in a deterministic apply.
func (n *Node) deriveCreds(p AuthPolicy, password string) (string, error) {
	if p.PlainPasswords {
		return plainPrefix + password, nil
	}
	hashes := make([]scram.Hash, 0, 5)
	for _, name := range p.Hashes {
		h, err := scram.ParseHash(name)
		if err != nil {
			return "", fmt.Errorf("node: password hash: %w", err)
		}
		hashes = append(hashes, h)
	}
	if len(hashes) == 0 {
		hashes = scram.AllHashes()
	}
	c, err := scram.Derive(password, p.Iterations, hashes, rand.Reader)
	if err != nil {
		return "", fmt.Errorf("node: derive credentials: %w", err)
	}
	return c.Marshal(), nil
}

// verifyCreds checks a password against stored credentials in constant time.
func verifyCreds(stored, password string) bool {
	if plain, ok := strings.CutPrefix(stored, plainPrefix); ok {
		return subtle.ConstantTimeCompare([]byte(plain), []byte(password)) == 1
	}
	c, err := scram.Unmarshal(stored)
	if err != nil {
		return false
	}
	return scram.Verify(c, password)
}

// Credentials returns an account's credentials for SASL: SCRAM keys, or the plain
// password for plain-format stores. A missing account is scram.ErrUnknownUser.
func (n *Node) Credentials(domain, user string) (scram.Credentials, error) {
	stored, ok := n.UserCreds(domain, user)
	if !ok {
		return scram.Credentials{}, scram.ErrUnknownUser
	}
	if plain, ok := strings.CutPrefix(stored, plainPrefix); ok {
		return scram.Credentials{Iterations: n.iterations(), Plain: plain}, nil
	}
	return scram.Unmarshal(stored)
}
