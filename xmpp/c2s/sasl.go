package c2s

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/sasl"
	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// DefaultMechanisms is the SASL mechanism list when the host type configures
// none: MongooseIM's default order, strongest first, without the mechanisms
// this server does not implement (ANONYMOUS, X-OAUTH, EXTERNAL, DIGEST-MD5).
var DefaultMechanisms = []string{
	"SCRAM-SHA-512-PLUS", "SCRAM-SHA-512",
	"SCRAM-SHA-384-PLUS", "SCRAM-SHA-384",
	"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256",
	"SCRAM-SHA-224-PLUS", "SCRAM-SHA-224",
	"SCRAM-SHA-1-PLUS", "SCRAM-SHA-1",
	"PLAIN",
}

// MechanismName maps a configured mechanism, either MongooseIM's
// auth.sasl_mechanisms name ("scram_sha256_plus", "plain") or the SASL name
// ("SCRAM-SHA-256-PLUS"), to the SASL name. ok is false for mechanisms this
// package does not implement.
func MechanismName(name string) (string, bool) {
	if name == "PLAIN" || name == "plain" {
		return "PLAIN", true
	}
	if _, _, err := scram.ParseMechanism(name); err == nil {
		return name, true
	}
	// scram_sha256_plus -> SCRAM-SHA-256-PLUS; scram_sha1 -> SCRAM-SHA-1.
	rest, ok := strings.CutPrefix(name, "scram_sha")
	if !ok || rest == "" {
		return "", false
	}
	digits, plus := strings.CutSuffix(rest, "_plus")
	m := "SCRAM-SHA-" + digits
	if plus {
		m += "-PLUS"
	}
	if _, _, err := scram.ParseMechanism(m); err != nil {
		return "", false
	}
	return m, true
}

// offeredMechanisms returns the mechanisms to advertise on this stream: the
// host type's list, without -PLUS where there is no channel binding and
// without PLAIN in clear on a listener that has TLS.
func (c *conn) offeredMechanisms() []string {
	names := DefaultMechanisms
	if f := c.l.cfg.Mechanisms; f != nil {
		if m := f(c.hostType); m != nil {
			names = m
		}
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		m, ok := MechanismName(n)
		switch {
		case !ok, slices.Contains(out, m):
			continue
		case strings.HasSuffix(m, "-PLUS") && c.cb.Data == nil:
			continue
		case m == "PLAIN" && !c.secure && c.l.cfg.TLSMode != TLSNone:
			continue
		}
		out = append(out, m)
	}
	return out
}

// offersPlus reports whether a -PLUS mechanism is on offer, which SCRAM's
// downgrade check needs to know.
func (c *conn) offersPlus() bool {
	for _, m := range c.mechs {
		if strings.HasSuffix(m, "-PLUS") {
			return true
		}
	}
	return false
}

// appendMechanisms appends <mechanisms/> and, with -PLUS on offer, the
// XEP-0440 channel binding types.
func (c *conn) appendMechanisms(dst []byte) []byte {
	if len(c.mechs) == 0 {
		return dst
	}
	dst = append(dst, `<mechanisms xmlns="`+nsSASL+`">`...)
	for _, m := range c.mechs {
		dst = append(dst, "<mechanism>"...)
		dst = append(dst, m...)
		dst = append(dst, "</mechanism>"...)
	}
	dst = append(dst, "</mechanisms>"...)
	if c.offersPlus() {
		dst = append(dst, `<sasl-channel-binding xmlns="`+nsSASLCB+`"><channel-binding type="`...)
		dst = append(dst, c.cb.Type...)
		dst = append(dst, `"/></sasl-channel-binding>`...)
	}
	return dst
}

// handleSASL handles <auth/>, <response/> and <abort/> (RFC 6120 section 6.4).
func (c *conn) handleSASL(el *xmlstream.Element) error {
	switch el.Local {
	case "auth":
		c.saslMech, c.scram = "", nil
		mech := el.Attr("mechanism")
		if !slices.Contains(c.mechs, mech) {
			if mech == "PLAIN" && !c.secure && c.l.cfg.TLSMode != TLSNone {
				return c.authFailed("encryption-required", nil)
			}
			return c.authFailed("invalid-mechanism", nil)
		}
		payload, err := sasl.DecodePayload(el.Text())
		if err != nil {
			return c.authFailed(sasl.Condition(err), err)
		}
		c.saslMech = mech
		if mech != "PLAIN" {
			var cb scram.ChannelBinding
			if c.offersPlus() {
				cb = c.cb
			}
			c.scram = scram.NewServer(mech, c.lookup, cb, scram.WithDomain(c.domain), scram.WithIterations(c.iterations()))
		}
		if payload == nil {
			// No initial response: ask for it with an empty challenge.
			return c.writeStringNow(`<challenge xmlns="` + nsSASL + `">=</challenge>`)
		}
		return c.saslStep(payload)
	case "response":
		if c.saslMech == "" {
			return c.authFailed("malformed-request", errors.New("response without an exchange"))
		}
		payload, err := sasl.DecodePayload(el.Text())
		if err != nil {
			c.saslMech, c.scram = "", nil
			return c.authFailed(sasl.Condition(err), err)
		}
		if payload == nil {
			payload = []byte{}
		}
		return c.saslStep(payload)
	case "abort":
		c.saslMech, c.scram = "", nil
		return c.authFailed("aborted", nil)
	}
	return streamErr(UnsupportedStanzaType, "")
}

// saslStep feeds one client message to the exchange in progress.
func (c *conn) saslStep(msg []byte) error {
	if c.saslMech == "PLAIN" {
		c.saslMech = ""
		user, err := c.plain(msg)
		if err != nil {
			return c.authFailed(sasl.Condition(err), err)
		}
		return c.authSucceeded(user, nil)
	}
	reply, done, err := c.scram.Step(msg)
	if err != nil {
		c.saslMech, c.scram = "", nil
		return c.authFailed(sasl.Condition(err), err)
	}
	if done {
		user := c.scram.Username()
		c.saslMech, c.scram = "", nil
		return c.authSucceeded(user, reply)
	}
	return c.writeStringNow(`<challenge xmlns="` + nsSASL + `">` + sasl.EncodePayload(reply) + `</challenge>`)
}

func (c *conn) lookup(user string) (scram.Credentials, error) {
	return c.l.cfg.Accounts.Credentials(c.domain, user)
}

func (c *conn) iterations() int {
	if f := c.l.cfg.ScramIterations; f != nil {
		if n := f(c.hostType); n > 0 {
			return n
		}
	}
	return scram.DefaultIterations
}

// plain checks a PLAIN message (RFC 4616): [authzid] NUL authcid NUL passwd.
// The authcid is the localpart or the bare JID on the stream's domain; an
// authzid must name the same account.
func (c *conn) plain(msg []byte) (string, error) {
	parts := bytes.Split(msg, []byte{0})
	if len(parts) != 3 {
		return "", fmt.Errorf("%w: PLAIN message needs three fields", sasl.ErrMalformedRequest)
	}
	authzid, authcid, pass := string(parts[0]), string(parts[1]), string(parts[2])
	user, err := c.plainUser(authcid)
	if err != nil {
		return "", err
	}
	if authzid != "" && authzid != authcid {
		if u, err := c.plainUser(authzid); err != nil || u != user {
			return "", fmt.Errorf("%w: %q may not act as %q", sasl.ErrInvalidAuthzid, authcid, authzid)
		}
	}
	creds, err := c.lookup(user)
	switch {
	case errors.Is(err, scram.ErrUnknownUser):
		return "", fmt.Errorf("%w: unknown user %q", sasl.ErrNotAuthorized, user)
	case err != nil:
		return "", fmt.Errorf("%w: credential lookup: %w", sasl.ErrTemporaryAuthFailure, err)
	}
	if !scram.Verify(creds, pass) {
		return "", fmt.Errorf("%w: wrong password for %q", sasl.ErrNotAuthorized, user)
	}
	return user, nil
}

// plainUser turns a PLAIN identity, a localpart or user@domain, into the
// prepared localpart.
func (c *conn) plainUser(id string) (string, error) {
	if strings.Contains(id, "@") {
		j, err := jid.Parse(id)
		if err != nil || !j.IsBare() || j.Local() == "" || j.Domain() != c.domain {
			return "", fmt.Errorf("%w: identity %q is not an account of %s", sasl.ErrNotAuthorized, id, c.domain)
		}
		return j.Local(), nil
	}
	u, err := jid.NormalizeLocal(id)
	if err != nil {
		return "", fmt.Errorf("%w: username: %w", sasl.ErrNotAuthorized, err)
	}
	return u, nil
}

// authFailed sends <failure/> with cond; the third failure also ends the
// stream (MongooseIM's AUTH_RETRIES; RFC 6120 section 6.4.5 asks for a
// bounded number of retries).
func (c *conn) authFailed(cond string, err error) error {
	c.fails++
	c.l.cfg.Metrics.AuthFailed.For(c.hostType).Inc()
	c.l.cfg.Logger.Debug("c2s: authentication failed", "remote", c.raw.RemoteAddr(),
		"domain", c.domain, "condition", cond, "attempt", c.fails, "error", err)
	if werr := c.writeStringNow(`<failure xmlns="` + nsSASL + `"><` + cond + `/></failure>`); werr != nil {
		return werr
	}
	if c.fails >= MaxAuthAttempts {
		return streamErr(PolicyViolation, "too many failed authentication attempts")
	}
	return nil
}

// authSucceeded sends <success/> and restarts the stream (RFC 6120 section
// 6.4.6).
func (c *conn) authSucceeded(user string, additional []byte) error {
	c.user = user
	c.l.cfg.Metrics.AuthSucceeded.For(c.hostType).Inc()
	c.cb = scram.ChannelBinding{}
	c.mechs = nil
	s := `<success xmlns="` + nsSASL + `"/>`
	if additional != nil {
		s = `<success xmlns="` + nsSASL + `">` + sasl.EncodePayload(additional) + `</success>`
	}
	if err := c.writeStringNow(s); err != nil {
		return err
	}
	return errRestart
}
