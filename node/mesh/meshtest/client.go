// Package meshtest is a raw XMPP client for tests and benchmarks that run several
// nodes: it logs in with PLAIN on a c2s listener without TLS (server.TestConfig's,
// or a test config file's), binds a resource, and reads what the server sends with
// the server's own parser, so a test sees exactly the bytes a node produced.
package meshtest

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Namespaces the client speaks.
const (
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	nsStreams = xmlstream.StreamsNamespace
	nsXMPPSE  = "urn:ietf:params:xml:ns:xmpp-streams"
)

// Timeout bounds each step of the login and every Expect.
const Timeout = 5 * time.Second

// Client is a logged-in client. Received stanzas queue in In (1024 deep; a test
// that does not drain it stalls the reader, and then the server disconnects it).
type Client struct {
	JID jid.JID
	In  chan *xmlstream.Element

	conn     net.Conn
	wmu      sync.Mutex
	done     chan struct{}
	quit     chan struct{}
	quitOnce sync.Once

	mu        sync.Mutex
	streamErr xmlstream.Condition
	streamTxt string
	endErr    error
}

// ErrAuth is returned by Login when the server refuses the credentials.
var ErrAuth = errors.New("meshtest: authentication failed")

// Login connects to addr, authenticates user@domain with PLAIN and binds resource.
func Login(addr, user, domain, password, resource string) (*Client, error) {
	conn, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, In: make(chan *xmlstream.Element, 1024), done: make(chan struct{}), quit: make(chan struct{})}
	br := bufio.NewReader(conn)
	p := xmlstream.NewParser(br, xmlstream.Limits{MaxStanzaSize: 1 << 20})
	if err := c.login(br, p, user, domain, password, resource); err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	go c.read(p)
	return c, nil
}

func header(domain string) string {
	return `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='` +
		domain + `' version='1.0'>`
}

func (c *Client) login(br *bufio.Reader, p *xmlstream.Parser, user, domain, password, resource string) error {
	_ = c.conn.SetDeadline(time.Now().Add(Timeout))
	next := func(space, local string) (*xmlstream.Element, error) {
		el, err := p.Next()
		if err != nil {
			return nil, err
		}
		if el.Space != space || el.Local != local {
			return el, fmt.Errorf("meshtest: got %s, want <%s xmlns=%q>", el, local, space)
		}
		return el, nil
	}
	open := func() error {
		if err := c.write(header(domain)); err != nil {
			return err
		}
		if _, err := p.ReadHeader(); err != nil {
			return fmt.Errorf("meshtest: stream header: %w", err)
		}
		_, err := next(nsStreams, "features")
		return err
	}
	if err := open(); err != nil {
		return err
	}
	cred := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	if err := c.write(`<auth xmlns='` + nsSASL + `' mechanism='PLAIN'>` + cred + `</auth>`); err != nil {
		return err
	}
	if el, err := next(nsSASL, "success"); err != nil {
		if el != nil && el.Local == "failure" {
			return fmt.Errorf("%w: %s", ErrAuth, el)
		}
		return err
	}
	p.Reset(br)
	if err := open(); err != nil {
		return err
	}
	if err := c.write(`<iq type='set' id='bind'><bind xmlns='` + nsBind + `'><resource>` + resource + `</resource></bind></iq>`); err != nil {
		return err
	}
	el, err := next("jabber:client", "iq")
	if err != nil {
		return err
	}
	b := el.Child(nsBind, "bind")
	if el.Attr("type") != "result" || b == nil {
		return fmt.Errorf("meshtest: bind refused: %s", el)
	}
	c.JID, err = jid.Parse(b.Child(nsBind, "jid").Text())
	return err
}

func (c *Client) write(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(Timeout))
	_, err := io.WriteString(c.conn, s)
	return err
}

// read queues stanzas until the stream ends, noting a stream error.
func (c *Client) read(p *xmlstream.Parser) {
	defer close(c.done)
	defer close(c.In)
	for {
		el, err := p.Next()
		if err != nil {
			c.mu.Lock()
			c.endErr = err
			c.mu.Unlock()
			return
		}
		if el.Space == nsStreams && el.Local == "error" {
			c.mu.Lock()
			for _, ch := range el.Elements() {
				if ch.Space == nsXMPPSE && ch.Local == "text" {
					c.streamTxt = ch.Text()
				} else if ch.Space == nsXMPPSE {
					c.streamErr = xmlstream.Condition(ch.Local)
				}
			}
			c.mu.Unlock()
			continue
		}
		select {
		case c.In <- el:
		case <-c.quit:
			return
		}
	}
}

// Send writes raw XML (a stanza, or several).
func (c *Client) Send(raw string) error { return c.write(raw) }

// Close ends the stream and the connection.
func (c *Client) Close() {
	_ = c.write(xmlstream.StreamClose)
	c.Kill()
}

// Kill closes the socket without ending the stream.
func (c *Client) Kill() {
	c.quitOnce.Do(func() { close(c.quit) })
	_ = c.conn.Close()
	<-c.done
}

// Done is closed when the server has ended the stream (or the connection broke).
func (c *Client) Done() <-chan struct{} { return c.done }

// StreamError returns the stream error condition and text the server ended the
// stream with, if any (valid once Done is closed).
func (c *Client) StreamError() (xmlstream.Condition, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streamErr, c.streamTxt
}

// Expect returns the first stanza received within d that match accepts, skipping
// others; it fails when the stream ends or d passes.
func (c *Client) Expect(d time.Duration, match func(*xmlstream.Element) bool) (*xmlstream.Element, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case el, ok := <-c.In:
			if !ok {
				return nil, fmt.Errorf("meshtest: %s: stream ended", c.JID)
			}
			if match(el) {
				return el, nil
			}
		case <-t.C:
			return nil, fmt.Errorf("meshtest: %s: nothing matching within %v", c.JID, d)
		}
	}
}

// Body matches a message with the given body.
func Body(body string) func(*xmlstream.Element) bool {
	return func(el *xmlstream.Element) bool {
		b := el.Child("jabber:client", "body")
		return el.Local == "message" && b != nil && b.Text() == body
	}
}

// IQ matches an IQ with the given id.
func IQ(id string) func(*xmlstream.Element) bool {
	return func(el *xmlstream.Element) bool { return el.Local == "iq" && el.Attr("id") == id }
}

// Named matches any stanza with the given local name ("presence", ...).
func Named(local string) func(*xmlstream.Element) bool {
	return func(el *xmlstream.Element) bool { return el.Local == local }
}

// Message returns a chat message stanza to 'to' with an escaped body.
func Message(to, body string) string {
	var b strings.Builder
	b.WriteString(`<message type='chat' to='`)
	b.WriteString(to)
	b.WriteString(`'><body>`)
	xmlEscape(&b, body)
	b.WriteString(`</body></message>`)
	return b.String()
}

func xmlEscape(b *strings.Builder, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
}
