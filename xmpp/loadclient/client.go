// Package loadclient is a minimal XMPP client for load generation: it logs in
// over TCP (optionally STARTTLS without certificate checks), authenticates
// with SASL PLAIN or SCRAM-SHA-256, binds a resource, opens the legacy
// session when offered, and then sends and reads stanzas as fast as the
// connection allows.
//
// It reads with the server's own tokenizer (xmpp/xmlstream), writes stanzas
// by hand into a reused buffer, and does nothing a load run does not need:
// no roster, no stream management, no reconnects. It is not a general
// purpose client; mellium.im/xmpp is the one the tests use for that.
package loadclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Config describes one login.
type Config struct {
	// Addr is the server's host:port.
	Addr string
	// Domain is the account's domain, the stream's to address.
	Domain string
	// User is the account's localpart; Password its password.
	User, Password string
	// Resource to bind; "" means "load".
	Resource string
	// StartTLS makes the client require and negotiate STARTTLS.
	StartTLS bool
	// TLS configures the STARTTLS handshake; nil means certificates are not
	// verified (load runs target test servers with self-signed certificates)
	// and ServerName is Domain.
	TLS *tls.Config
	// Mechanism is "PLAIN" or "SCRAM-SHA-256"; "" picks PLAIN when the
	// server offers it, else SCRAM-SHA-256.
	Mechanism string
	// NoSession skips the RFC 3921 session IQ even when the server offers it.
	NoSession bool
	// MaxStanzaSize bounds what the client reads in one stanza; 0 means 1 MiB.
	MaxStanzaSize int
	// Timeout bounds the whole login (dial, negotiation); 0 means 10 s. A
	// deadline on the context passed to Dial also applies.
	Timeout time.Duration
}

// Defaults.
const (
	DefaultResource      = "load"
	DefaultTimeout       = 10 * time.Second
	DefaultMaxStanzaSize = 1 << 20
	readBufferSize       = 4096
)

// Client is one logged-in XMPP session. Send methods are safe for concurrent
// use; Next is for one reading goroutine.
type Client struct {
	cfg  Config
	conn net.Conn
	br   *bufio.Reader
	p    *xmlstream.Parser
	jid  string

	wmu  sync.Mutex
	wbuf []byte
	// closed is set once Close has written the stream end, so later sends
	// fail instead of writing after it.
	closed bool
}

// Dial connects and logs in. On error the connection is closed; the error
// wraps ErrAuth, ErrNotOffered, *StreamError or the network error.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Resource == "" {
		cfg.Resource = DefaultResource
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxStanzaSize <= 0 {
		cfg.MaxStanzaSize = DefaultMaxStanzaSize
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("loadclient: dial %s: %w", cfg.Addr, err)
	}
	c := &Client{cfg: cfg, conn: conn, br: bufio.NewReaderSize(conn, readBufferSize)}
	c.p = xmlstream.NewParser(c.br, xmlstream.Limits{MaxStanzaSize: cfg.MaxStanzaSize})

	// The context governs the login: its deadline becomes the connection's,
	// and cancelling it unblocks a pending read or write.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	err = c.login()
	if !stop() && err == nil {
		// AfterFunc ran: a deadline in the past is, or is about to be, set,
		// so the connection is unusable even though the login finished.
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		cerr := ctx.Err()
		if cerr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
			// The connection's deadline is the context's, and it may
			// expire a moment before the context's own timer fires.
			cerr = context.DeadlineExceeded
		}
		if cerr != nil && !errors.Is(err, cerr) {
			// An i/o timeout says less than "context deadline exceeded".
			err = fmt.Errorf("%w (%w)", err, cerr)
		}
		return nil, fmt.Errorf("loadclient: %s@%s: %w", cfg.User, cfg.Domain, err)
	}
	conn.SetDeadline(time.Time{})
	return c, nil
}

// JID is the full JID the server bound.
func (c *Client) JID() string { return c.jid }

// SendMessage sends a <message/> of the given type ("chat" if empty) with a
// body and an optional id.
func (c *Client) SendMessage(to, typ, id, body string) error {
	if typ == "" {
		typ = "chat"
	}
	return c.write(func(b []byte) []byte {
		b = append(b, `<message to="`...)
		b = appendEscaped(b, to)
		b = append(b, `" type="`...)
		b = appendEscaped(b, typ)
		if id != "" {
			b = append(b, `" id="`...)
			b = appendEscaped(b, id)
		}
		b = append(b, `"><body>`...)
		b = appendEscaped(b, body)
		return append(b, `</body></message>`...)
	})
}

// SendPresence sends initial (available) presence to the server.
func (c *Client) SendPresence() error {
	return c.write(func(b []byte) []byte { return append(b, `<presence/>`...) })
}

// Available sends initial presence and waits for the server to echo it back to this
// resource (RFC 6121 section 4.2.2), so that the session is available, and gets
// bare-JID messages, before the caller starts a workload. Other stanzas read meanwhile
// are discarded.
func (c *Client) Available(timeout time.Duration) error {
	if err := c.SendPresence(); err != nil {
		return err
	}
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	defer c.SetReadDeadline(time.Time{})
	for {
		el, err := c.Next()
		if err != nil {
			return fmt.Errorf("loadclient: waiting for own presence: %w", err)
		}
		if el.Local == "presence" && el.Attr("from") == c.jid && el.Attr("type") == "" {
			return nil
		}
	}
}

// Send writes an element in the stream's content namespace.
func (c *Client) Send(el *xmlstream.Element) error {
	return c.write(func(b []byte) []byte { return el.AppendXML(b, xmlstream.ClientNamespace) })
}

// SendRaw writes bytes as they are; the caller is responsible for them being
// whole, well-formed stanzas.
func (c *Client) SendRaw(raw []byte) error {
	return c.write(func(b []byte) []byte { return append(b, raw...) })
}

func (c *Client) write(build func([]byte) []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.wbuf = build(c.wbuf[:0])
	if _, err := c.conn.Write(c.wbuf); err != nil {
		return fmt.Errorf("loadclient: write: %w", err)
	}
	if cap(c.wbuf) > 64<<10 {
		c.wbuf = nil // do not keep a rare large stanza's buffer
	}
	return nil
}

// Next returns the next stanza from the server. A <stream:error/> comes back
// as *StreamError, the server's </stream:stream> as xmlstream.ErrStreamClosed.
// The element shares memory with the parser only until the next call: use or
// Clone it before calling Next again.
func (c *Client) Next() (*xmlstream.Element, error) {
	el, err := c.p.Next()
	if err != nil {
		return nil, err
	}
	if el.Space == xmlstream.StreamsNamespace && el.Local == "error" {
		return nil, streamError(el)
	}
	return el, nil
}

// SetReadDeadline sets the deadline for Next.
func (c *Client) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// Close ends the stream and closes the connection without waiting for the
// server's </stream:stream>: a load run closes thousands at once.
func (c *Client) Close() error {
	c.wmu.Lock()
	if !c.closed {
		c.closed = true
		c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		c.conn.Write([]byte("</stream:stream>"))
	}
	c.wmu.Unlock()
	return c.conn.Close()
}

// appendEscaped escapes text for use in character data and double-quoted
// attribute values.
func appendEscaped(dst []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '"':
			esc = "&quot;"
		case '\'':
			esc = "&apos;"
		default:
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, esc...)
		last = i + 1
	}
	return append(dst, s[last:]...)
}
