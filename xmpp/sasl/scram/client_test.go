package scram

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/secure/precis"
)

// testClient is a deliberately plain client side of SCRAM, written from RFC
// 5802 section 3 without the package's helpers, to drive the Server.
type testClient struct {
	hash     Hash
	user     string
	authzid  string
	password string
	gs2Flag  string // "n", "y" or "p=<type>"
	cbData   []byte
	nonce    string

	gs2Header       string
	clientFirstBare string
	serverSignature []byte
}

func escapeName(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

func (c *testClient) first() []byte {
	if c.gs2Flag == "" {
		c.gs2Flag = "n"
	}
	if c.nonce == "" {
		c.nonce = "fyko+d2lbbFgONRv9qkxdawL"
	}
	c.gs2Header = c.gs2Flag + ","
	if c.authzid != "" {
		c.gs2Header += "a=" + escapeName(c.authzid)
	}
	c.gs2Header += ","
	c.clientFirstBare = "n=" + escapeName(c.user) + ",r=" + c.nonce
	return []byte(c.gs2Header + c.clientFirstBare)
}

func (c *testClient) final(serverFirst []byte) ([]byte, error) {
	attrs := strings.Split(string(serverFirst), ",")
	if len(attrs) < 3 || !strings.HasPrefix(attrs[0], "r=") || !strings.HasPrefix(attrs[1], "s=") || !strings.HasPrefix(attrs[2], "i=") {
		return nil, fmt.Errorf("bad server-first %q", serverFirst)
	}
	nonce := attrs[0][2:]
	if !strings.HasPrefix(nonce, c.nonce) || len(nonce) == len(c.nonce) {
		return nil, fmt.Errorf("server nonce %q does not extend %q", nonce, c.nonce)
	}
	salt, err := base64.StdEncoding.DecodeString(attrs[1][2:])
	if err != nil {
		return nil, err
	}
	iter, err := strconv.Atoi(attrs[2][2:])
	if err != nil {
		return nil, err
	}
	pw, err := precis.OpaqueString.String(c.password)
	if err != nil {
		return nil, err
	}
	newHash := func() hash.Hash { return c.hash.New() }
	salted, err := pbkdf2.Key(newHash, pw, salt, iter, c.hash.Size())
	if err != nil {
		return nil, err
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(newHash, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	d := c.hash.New()
	d.Write(clientKey)
	storedKey := d.Sum(nil)

	cbind := append([]byte(c.gs2Header), c.cbData...)
	withoutProof := "c=" + base64.StdEncoding.EncodeToString(cbind) + ",r=" + nonce
	authMessage := c.clientFirstBare + "," + string(serverFirst) + "," + withoutProof
	sig := mac(storedKey, authMessage)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ sig[i]
	}
	c.serverSignature = mac(mac(salted, "Server Key"), authMessage)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

func (c *testClient) verify(serverFinal []byte) error {
	want := "v=" + base64.StdEncoding.EncodeToString(c.serverSignature)
	if !bytes.Equal(serverFinal, []byte(want)) {
		return fmt.Errorf("server-final %q, want %q", serverFinal, want)
	}
	return nil
}

// exchange runs a whole exchange; edit, if non-nil, may alter the
// client-final message before it is sent.
func exchange(t *testing.T, s *Server, c *testClient, edit func(string) string) error {
	t.Helper()
	sf, done, err := s.Step(c.first())
	if err != nil {
		return err
	}
	if done {
		t.Fatal("server done after client-first")
	}
	cf, err := c.final(sf)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	if edit != nil {
		cf = []byte(edit(string(cf)))
	}
	fin, done, err := s.Step(cf)
	if err != nil {
		if done || fin != nil {
			t.Errorf("failed Step returned done=%v msg=%q", done, fin)
		}
		return err
	}
	if !done {
		t.Fatal("server not done after client-final")
	}
	if err := c.verify(fin); err != nil {
		t.Fatalf("client: %v", err)
	}
	return nil
}

// users is a Lookup over a map; names not in it are unknown.
func users(m map[string]Credentials) Lookup {
	return func(u string) (Credentials, error) {
		c, ok := m[u]
		if !ok {
			return Credentials{}, fmt.Errorf("user %q: %w", u, ErrUnknownUser)
		}
		return c, nil
	}
}

func TestTestClientRejectsBadServerFinal(t *testing.T) {
	// Guard against a test client that accepts anything.
	c := &testClient{hash: SHA1, user: "u", password: "p"}
	c.first()
	if _, err := c.final([]byte("r=fyko+d2lbbFgONRv9qkxdawLX,s=QSXCR+Q6sek8bf92,i=1")); err != nil {
		t.Fatal(err)
	}
	if err := c.verify([]byte("v=AAAA")); err == nil {
		t.Fatal("verify accepted a wrong server signature")
	}
	if _, err := c.final([]byte("r=other,s=QSXCR+Q6sek8bf92,i=1")); err == nil {
		t.Fatal("final accepted a nonce not extending its own")
	}
}
