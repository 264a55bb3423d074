package c2s

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
)

// startTLS answers <starttls/> (RFC 6120 section 5.4.2).
//
// Anything the client pipelined after <starttls/> is still in the read buffer
// (the parser never reads ahead). Carrying it into the TLS layer would let an
// attacker who can only inject plaintext talk inside the encrypted session
// (the STARTTLS command injection class, CVE-2011-0411), so such bytes end the
// stream with <policy-violation/> instead of a <proceed/>. Whitespace alone is
// a harmless keep-alive and is dropped.
func (c *conn) startTLS() error {
	if !c.tlsOffered() {
		// RFC 6120 section 5.4.2.2: failure, then close the stream.
		_ = c.writeStringNow(`<failure xmlns="` + nsTLS + `"/>`)
		return streamErr("", "")
	}
	if n := c.br.Buffered(); n > 0 {
		b, _ := c.br.Peek(n)
		for _, ch := range b {
			if ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n' {
				return streamErr(PolicyViolation, "data sent after <starttls/>")
			}
		}
	}
	if err := c.writeStringNow(`<proceed xmlns="` + nsTLS + `"/>`); err != nil {
		return err
	}
	if err := c.handshake(c.l.tlsCfg); err != nil {
		return err
	}
	return errRestart
}

// handshake puts TLS on the connection (after <proceed/>, or first thing on a
// direct TLS listener) within StateTimeout. A failed handshake leaves nothing
// to send an XMPP error on: the connection is just dropped.
func (c *conn) handshake(cfg *tls.Config) error {
	tc := tls.Server(c.raw, cfg)
	c.setDeadline(time.Now().Add(c.l.cfg.StateTimeout))
	if err := tc.HandshakeContext(context.Background()); err != nil {
		c.l.cfg.Logger.Debug("c2s: TLS handshake failed", "remote", c.raw.RemoteAddr(), "error", err)
		return errQuiet
	}
	c.mu.Lock()
	c.tls, c.w = tc, tc
	c.mu.Unlock()
	var src io.Reader = tc
	if c.shaper != nil {
		c.shaper.r = tc
		src = c.shaper
	}
	c.br.Reset(src) // drops whitespace left from the plaintext stream
	c.secure = true
	c.cb = c.l.channelBinding(tc.ConnectionState())
	return nil
}

// channelBinding picks the channel binding SCRAM-*-PLUS uses on a connection:
// tls-exporter on TLS 1.3 (RFC 9266), tls-server-end-point otherwise (RFC
// 5929), as XEP-0440 advertises. The zero value means -PLUS is not offered.
func (l *Listener) channelBinding(cs tls.ConnectionState) scram.ChannelBinding {
	if cs.Version >= tls.VersionTLS13 {
		if cb, err := scram.ExporterBinding(cs); err == nil {
			return cb
		}
		return scram.ChannelBinding{}
	}
	return l.endPoint
}

// prepareTLS clones the listener's TLS configuration for STARTTLS and direct
// TLS and computes the tls-server-end-point binding of its certificate.
func (l *Listener) prepareTLS(cfg *tls.Config) error {
	if cfg == nil {
		return nil
	}
	l.tlsCfg = cfg.Clone()
	if l.tlsCfg.MinVersion == 0 {
		l.tlsCfg.MinVersion = tls.VersionTLS12
	}
	if len(l.tlsCfg.Certificates) == 0 && l.tlsCfg.GetCertificate == nil && l.tlsCfg.GetConfigForClient == nil {
		return fmt.Errorf("c2s: TLS configuration without a certificate")
	}
	if len(l.tlsCfg.Certificates) > 0 && len(l.tlsCfg.Certificates[0].Certificate) > 0 {
		leaf := l.tlsCfg.Certificates[0].Leaf
		if leaf == nil {
			var err error
			if leaf, err = x509.ParseCertificate(l.tlsCfg.Certificates[0].Certificate[0]); err != nil {
				return fmt.Errorf("c2s: TLS certificate: %w", err)
			}
		}
		if cb, err := scram.ServerEndPointBinding(leaf); err == nil {
			l.endPoint = cb
		}
	}
	// XEP-0368: direct TLS clients announce ALPN "xmpp-client".
	l.directTLS = l.tlsCfg.Clone()
	if len(l.directTLS.NextProtos) == 0 {
		l.directTLS.NextProtos = []string{"xmpp-client"}
	}
	return nil
}
