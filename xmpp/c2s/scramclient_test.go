package c2s

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"

	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
)

// scramClient is the client side of SCRAM for raw-byte tests and benchmarks.
// It caches salted passwords, so a benchmark measures the server's work, not
// the client's PBKDF2.
type scramClient struct {
	h           scram.Hash
	user, pass  string
	cbType      string // "" without channel binding
	cbData      []byte
	gs2         string
	nonce       string
	clientFirst string
	authMsg     string
	serverKey   []byte
}

var saltedCache sync.Map // string(pass, salt, iter, hash) -> []byte

func newSCRAMClient(mech, user, pass string, cb scram.ChannelBinding) (*scramClient, error) {
	h, plus, err := scram.ParseMechanism(mech)
	if err != nil {
		return nil, err
	}
	c := &scramClient{h: h, user: user, pass: pass, gs2: "n,,"}
	if plus {
		c.cbType, c.cbData = cb.Type, cb.Data
		c.gs2 = "p=" + cb.Type + ",,"
	}
	return c, nil
}

func (c *scramClient) first() []byte {
	c.nonce = rand.Text()
	c.clientFirst = "n=" + c.user + ",r=" + c.nonce
	return []byte(c.gs2 + c.clientFirst)
}

func (c *scramClient) final(serverFirst []byte) ([]byte, error) {
	var nonce, salt64 string
	iter := 0
	for _, kv := range strings.Split(string(serverFirst), ",") {
		switch {
		case strings.HasPrefix(kv, "r="):
			nonce = kv[2:]
		case strings.HasPrefix(kv, "s="):
			salt64 = kv[2:]
		case strings.HasPrefix(kv, "i="):
			iter, _ = strconv.Atoi(kv[2:])
		}
	}
	if !strings.HasPrefix(nonce, c.nonce) || iter < 1 {
		return nil, fmt.Errorf("bad server-first %q", serverFirst)
	}
	salt, err := base64.StdEncoding.DecodeString(salt64)
	if err != nil {
		return nil, err
	}
	newHash := func() hash.Hash { return c.h.New() }
	key := c.pass + "\x00" + string(salt) + "\x00" + strconv.Itoa(iter) + "\x00" + c.h.String()
	var salted []byte
	if v, ok := saltedCache.Load(key); ok {
		salted = v.([]byte)
	} else {
		salted, err = pbkdf2.Key(newHash, c.pass, salt, iter, c.h.Size())
		if err != nil {
			return nil, err
		}
		saltedCache.Store(key, salted)
	}
	mac := func(k []byte, msg string) []byte {
		m := hmac.New(newHash, k)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	d := c.h.New()
	d.Write(clientKey)
	storedKey := d.Sum(nil)
	cbind := base64.StdEncoding.EncodeToString(append([]byte(c.gs2), c.cbData...))
	withoutProof := "c=" + cbind + ",r=" + nonce
	c.authMsg = c.clientFirst + "," + string(serverFirst) + "," + withoutProof
	proof := mac(storedKey, c.authMsg)
	subtle.XORBytes(proof, proof, clientKey)
	c.serverKey = mac(salted, "Server Key")
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

func (c *scramClient) verify(serverFinal []byte) error {
	v, ok := strings.CutPrefix(string(serverFinal), "v=")
	if !ok {
		return fmt.Errorf("bad server-final %q", serverFinal)
	}
	sig, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return err
	}
	m := hmac.New(func() hash.Hash { return c.h.New() }, c.serverKey)
	m.Write([]byte(c.authMsg))
	if !hmac.Equal(m.Sum(nil), sig) {
		return errors.New("server signature mismatch")
	}
	return nil
}
