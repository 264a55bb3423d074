package loadclient

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/secure/precis"
)

// scram runs SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding:
// the gs2 flag "n" tells the server this client does not bind, which a
// server offering -PLUS accepts (only "y" would be a downgrade).
func (c *Client) scram() error {
	var raw [18]byte
	rand.Read(raw[:])
	nonce := base64.RawStdEncoding.EncodeToString(raw[:])
	const gs2 = "n,,"
	first := "n=" + saslName(c.cfg.User) + ",r=" + nonce
	if err := c.sendSASL("auth", MechSCRAMSHA256, []byte(gs2+first)); err != nil {
		return err
	}
	challenge, err := c.saslAnswer("challenge")
	if err != nil {
		return err
	}
	serverFirst := string(challenge)
	full, salt, iter, err := parseServerFirst(serverFirst, nonce)
	if err != nil {
		return err
	}
	pw, err := precis.OpaqueString.String(c.cfg.Password)
	if err != nil {
		return fmt.Errorf("SCRAM: password: %w", err)
	}
	salted, err := pbkdf2.Key(sha256.New, pw, salt, iter, sha256.Size)
	if err != nil {
		return fmt.Errorf("SCRAM: %w", err)
	}
	final := "c=" + base64.StdEncoding.EncodeToString([]byte(gs2)) + ",r=" + full
	authMsg := []byte(first + "," + serverFirst + "," + final)
	clientKey := mac(salted, []byte("Client Key"))
	stored := sha256.Sum256(clientKey)
	proof := mac(stored[:], authMsg)
	subtle.XORBytes(proof, proof, clientKey)
	final += ",p=" + base64.StdEncoding.EncodeToString(proof)
	if err := c.sendSASL("response", "", []byte(final)); err != nil {
		return err
	}
	success, err := c.saslAnswer("success")
	if err != nil {
		return err
	}
	// The server proves it knows the password too.
	want := "v=" + base64.StdEncoding.EncodeToString(mac(mac(salted, []byte("Server Key")), authMsg))
	if !hmac.Equal(success, []byte(want)) {
		return fmt.Errorf("SCRAM: %w: wrong server signature", ErrProtocol)
	}
	return nil
}

func mac(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// saslName escapes a username for SCRAM's n= attribute.
func saslName(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

// parseServerFirst reads r=, s= and i= from the server-first message and
// checks that the server's nonce extends ours.
func parseServerFirst(msg, clientNonce string) (nonce string, salt []byte, iter int, err error) {
	bad := func(why string) error { return fmt.Errorf("SCRAM: %w: %s in %q", ErrProtocol, why, msg) }
	attrs := strings.Split(msg, ",")
	if len(attrs) < 3 {
		return "", nil, 0, bad("too few attributes")
	}
	nonce, ok1 := strings.CutPrefix(attrs[0], "r=")
	s, ok2 := strings.CutPrefix(attrs[1], "s=")
	i, ok3 := strings.CutPrefix(attrs[2], "i=")
	if !ok1 || !ok2 || !ok3 {
		return "", nil, 0, bad("want r=,s=,i=")
	}
	if len(nonce) <= len(clientNonce) || !strings.HasPrefix(nonce, clientNonce) {
		return "", nil, 0, bad("nonce does not extend ours")
	}
	if salt, err = base64.StdEncoding.DecodeString(s); err != nil || len(salt) == 0 {
		return "", nil, 0, bad("bad salt")
	}
	if iter, err = strconv.Atoi(i); err != nil || iter < 1 {
		return "", nil, 0, bad("bad iteration count")
	}
	return nonce, salt, iter, nil
}
