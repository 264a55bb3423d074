package loadclient

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"slices"

	"github.com/mongoose-go/mongoose-go/xmpp/sasl"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

const (
	nsTLS  = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL = "urn:ietf:params:xml:ns:xmpp-sasl"
)

// Mechanisms this client implements.
const (
	MechPLAIN       = "PLAIN"
	MechSCRAMSHA256 = "SCRAM-SHA-256"
)

// login runs RFC 6120 stream negotiation: [STARTTLS, restart], SASL,
// restart, bind, and the legacy session when offered.
func (c *Client) login() error {
	feats, err := c.openStream()
	if err != nil {
		return err
	}
	if c.cfg.StartTLS {
		if feats, err = c.startTLS(feats); err != nil {
			return err
		}
	}
	if err := c.authenticate(feats); err != nil {
		return err
	}
	c.p.Reset(c.br)
	if feats, err = c.openStream(); err != nil {
		return err
	}
	if feats.Child(stanza.NSBind, "bind") == nil {
		return fmt.Errorf("resource binding: %w", ErrNotOffered)
	}
	if err := c.bind(); err != nil {
		return err
	}
	if s := feats.Child(stanza.NSSession, "session"); s != nil && !c.cfg.NoSession {
		return c.session()
	}
	return nil
}

// openStream sends our stream header and reads the server's header and
// features.
func (c *Client) openStream() (*xmlstream.Element, error) {
	err := c.write(func(b []byte) []byte {
		b = append(b, xmlstream.XMLDeclaration...)
		return xmlstream.AppendStreamHeader(b, &xmlstream.StreamHeader{
			DefaultNS: xmlstream.ClientNamespace,
			Attrs: []xmlstream.Attr{
				{Local: "to", Value: c.cfg.Domain},
				{Local: "version", Value: "1.0"},
			},
		})
	})
	if err != nil {
		return nil, err
	}
	if _, err := c.p.ReadHeader(); err != nil {
		return nil, fmt.Errorf("stream header: %w", err)
	}
	el, err := c.Next()
	if err != nil {
		return nil, fmt.Errorf("stream features: %w", err)
	}
	if el.Space != xmlstream.StreamsNamespace || el.Local != "features" {
		return nil, fmt.Errorf("%w: <%s/> instead of stream features", ErrProtocol, el.Local)
	}
	return el, nil
}

// startTLS upgrades the connection and restarts the stream on it. Nothing
// read before the upgrade is kept (the plaintext reader is replaced).
func (c *Client) startTLS(feats *xmlstream.Element) (*xmlstream.Element, error) {
	if feats.Child(nsTLS, "starttls") == nil {
		return nil, fmt.Errorf("STARTTLS: %w", ErrNotOffered)
	}
	if err := c.SendRaw([]byte(`<starttls xmlns="` + nsTLS + `"/>`)); err != nil {
		return nil, err
	}
	el, err := c.Next()
	if err != nil {
		return nil, fmt.Errorf("STARTTLS: %w", err)
	}
	if el.Space != nsTLS || el.Local != "proceed" {
		return nil, fmt.Errorf("STARTTLS: %w: <%s/>", ErrProtocol, el.Local)
	}
	cfg := c.cfg.TLS
	if cfg == nil {
		cfg = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // load runs target test servers
	} else {
		cfg = cfg.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = c.cfg.Domain
	}
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	c.conn = tc
	c.br = bufio.NewReaderSize(tc, readBufferSize)
	c.p.Reset(c.br)
	return c.openStream()
}

// authenticate runs the SASL exchange with the configured (or best offered)
// mechanism.
func (c *Client) authenticate(feats *xmlstream.Element) error {
	var offered []string
	if m := feats.Child(nsSASL, "mechanisms"); m != nil {
		for _, e := range m.ChildrenNamed(nsSASL, "mechanism") {
			offered = append(offered, e.Text())
		}
	}
	if len(offered) == 0 && feats.Child(nsTLS, "starttls") != nil {
		return fmt.Errorf("SASL: %w: no mechanism before STARTTLS", ErrNotOffered)
	}
	mech := c.cfg.Mechanism
	if mech == "" {
		mech = MechPLAIN
		if !slices.Contains(offered, MechPLAIN) {
			mech = MechSCRAMSHA256
		}
	}
	if !slices.Contains(offered, mech) {
		return fmt.Errorf("SASL %s: %w (offered: %v)", mech, ErrNotOffered, offered)
	}
	switch mech {
	case MechPLAIN:
		payload := "\x00" + c.cfg.User + "\x00" + c.cfg.Password
		if err := c.sendSASL("auth", mech, []byte(payload)); err != nil {
			return err
		}
		_, err := c.saslAnswer("success")
		return err
	case MechSCRAMSHA256:
		return c.scram()
	}
	return fmt.Errorf("SASL %s: %w (this client knows %s and %s)", mech, ErrNotOffered, MechPLAIN, MechSCRAMSHA256)
}

// sendSASL writes <auth/> (with mechanism) or <response/>.
func (c *Client) sendSASL(local, mech string, payload []byte) error {
	return c.write(func(b []byte) []byte {
		b = append(b, "<"+local+` xmlns="`+nsSASL+`"`...)
		if mech != "" {
			b = append(b, ` mechanism="`+mech+`"`...)
		}
		b = append(b, '>')
		b = append(b, sasl.EncodePayload(payload)...)
		return append(b, "</"+local+">"...)
	})
}

// saslAnswer reads the server's next SASL element, which must be want
// (challenge or success), and returns its decoded payload.
func (c *Client) saslAnswer(want string) ([]byte, error) {
	el, err := c.Next()
	if err != nil {
		return nil, fmt.Errorf("SASL: %w", err)
	}
	if el.Space == nsSASL && el.Local == "failure" {
		return nil, fmt.Errorf("%w: %s", ErrAuth, condition(el))
	}
	if el.Space != nsSASL || el.Local != want {
		return nil, fmt.Errorf("SASL: %w: <%s/> instead of <%s/>", ErrProtocol, el.Local, want)
	}
	if t := el.Text(); t != "" {
		return sasl.DecodePayload(t)
	}
	return nil, nil
}

// bind binds the configured resource (RFC 6120 section 7).
func (c *Client) bind() error {
	err := c.write(func(b []byte) []byte {
		b = append(b, `<iq type="set" id="bind_1"><bind xmlns="`+stanza.NSBind+`"><resource>`...)
		b = appendEscaped(b, c.cfg.Resource)
		return append(b, `</resource></bind></iq>`...)
	})
	if err != nil {
		return err
	}
	el, err := c.iqResult("bind_1")
	if err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if b := el.Child(stanza.NSBind, "bind"); b != nil {
		if j := b.Child(stanza.NSBind, "jid"); j != nil {
			c.jid = j.Text()
		}
	}
	if c.jid == "" {
		return fmt.Errorf("bind: %w: no jid in the result", ErrProtocol)
	}
	return nil
}

// session opens the RFC 3921 session, which tsung and escalus still send.
func (c *Client) session() error {
	if err := c.SendRaw([]byte(`<iq type="set" id="sess_1"><session xmlns="` + stanza.NSSession + `"/></iq>`)); err != nil {
		return err
	}
	if _, err := c.iqResult("sess_1"); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return nil
}

// iqResult reads until the answer to the IQ with this id and returns it if
// it is a result.
func (c *Client) iqResult(id string) (*xmlstream.Element, error) {
	for {
		el, err := c.Next()
		if err != nil {
			return nil, err
		}
		if el.Local != "iq" || el.Attr("id") != id {
			continue // nothing else is expected before the answer; skip it
		}
		if el.Attr("type") != "result" {
			return nil, fmt.Errorf("%w: iq %s: %s", ErrProtocol, el.Attr("type"), ErrorCondition(el))
		}
		return el, nil
	}
}
