package c2s

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/sasl"
	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func timeNow() time.Time { return time.Now() }

var quietLogger = slog.New(slog.DiscardHandler)

type testServer struct {
	l    *Listener
	addr string
	dir  *fakeDirectory
	acc  *fakeAccounts
	r    *fakeRouter
}

// startServer starts a STARTTLS listener on loopback for example.com with
// users alice and bob (password "secret"); opts adjust the Config (a
// func(*Config)) or wrap the net.Listener (a func(net.Listener)
// net.Listener). Cleanup closes it and checks that no goroutine outlives it.
func startServer(t testing.TB, opts ...any) *testServer {
	t.Helper()
	base := runtime.NumGoroutine()
	cert, _ := serverCert(t)
	s := &testServer{dir: newDirectory(testDomain), acc: newAccounts(), r: newRouter()}
	s.acc.add(t, "alice", testDomain, testPassword, testIterations)
	s.acc.add(t, "bob", testDomain, testPassword, testIterations)
	cfg := Config{
		Addr:                "127.0.0.1:0",
		MaxStanzaSize:       65536,
		StateTimeout:        3 * time.Second,
		TLSMode:             TLSStartTLS,
		TLS:                 &tls.Config{Certificates: []tls.Certificate{cert}},
		DefaultServerDomain: "localhost",
		Directory:           s.dir,
		Accounts:            s.acc,
		Router:              s.r,
		Logger:              quietLogger,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		switch o := o.(type) {
		case func(*Config):
			o(&cfg)
		case func(net.Listener) net.Listener:
			ln = o(ln)
		default:
			t.Fatalf("bad option %T", o)
		}
	}
	l, err := Serve(ln, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.l, s.addr = l, l.Addr().String()
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
		checkGoroutines(t, base)
	})
	return s
}

func noTLS(c *Config) { c.TLSMode, c.TLS = TLSNone, nil }

// checkGoroutines waits for the goroutine count to return to base.
func checkGoroutines(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawClient speaks XMPP byte by byte, reading with the server's own parser.
type rawClient struct {
	t    testing.TB
	raw  net.Conn
	conn net.Conn // raw, or TLS on top of it
	br   *bufio.Reader
	p    *xmlstream.Parser
	hdr  *xmlstream.StreamHeader
}

func dial(t testing.TB, addr string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return newRawClient(t, conn)
}

func newRawClient(t testing.TB, conn net.Conn) *rawClient {
	br := bufio.NewReader(conn)
	return &rawClient{t: t, raw: conn, conn: conn, br: br, p: xmlstream.NewParser(br, xmlstream.Limits{})}
}

func (c *rawClient) send(s string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func header(domain string) string {
	return `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='` +
		domain + `' version='1.0'>`
}

// readHeader reads the server's stream header.
func (c *rawClient) readHeader() *xmlstream.StreamHeader {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	h, err := c.p.ReadHeader()
	if err != nil {
		c.t.Fatalf("reading stream header: %v", err)
	}
	c.hdr = h
	return h
}

// next reads the next element from the server.
func (c *rawClient) next() (*xmlstream.Element, error) {
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	return c.p.Next()
}

func (c *rawClient) expect(space, local string) *xmlstream.Element {
	c.t.Helper()
	el, err := c.next()
	if err != nil {
		c.t.Fatalf("waiting for <%s xmlns=%q>: %v", local, space, err)
	}
	if el.Space != space || el.Local != local {
		c.t.Fatalf("got %s, want <%s xmlns=%q>", el, local, space)
	}
	return el
}

// open starts a stream for domain and returns the features.
func (c *rawClient) open(domain string) *xmlstream.Element {
	c.t.Helper()
	if c.hdr != nil {
		c.p.Reset(c.br)
	}
	c.send(header(domain))
	c.readHeader()
	return c.expect(xmlstream.StreamsNamespace, "features")
}

// restart sends a new stream header without reading the answer.
func (c *rawClient) restart(domain string) {
	c.p.Reset(c.br)
	c.hdr = nil
	c.send(header(domain))
}

// expectStreamError reads until the stream ends and checks that it ended with
// the stream error cond and </stream:stream>.
func (c *rawClient) expectStreamError(cond xmlstream.Condition) *xmlstream.Element {
	c.t.Helper()
	if c.hdr == nil {
		c.readHeader()
	}
	for {
		el, err := c.next()
		if err != nil {
			c.t.Fatalf("waiting for stream error %s: %v", cond, err)
		}
		if el.Space != xmlstream.StreamsNamespace || el.Local != "error" {
			continue
		}
		if el.Child(xmlstream.StreamErrorsNamespace, string(cond)) == nil {
			c.t.Fatalf("stream error %s, want %s", el, cond)
		}
		c.expectClosed()
		return el
	}
}

// expectClosed checks that the server closes the stream and the connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	el, err := c.next()
	if !errors.Is(err, xmlstream.ErrStreamClosed) {
		c.t.Fatalf("after the stream error: %v %v, want </stream:stream>", el, err)
	}
	c.expectEOF()
}

func (c *rawClient) expectEOF() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [256]byte
	for {
		_, err := c.conn.Read(b[:])
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			c.t.Fatal("connection not closed by the server")
		}
		return
	}
}

// features lists a features element's children as "local" names plus the
// mechanisms as "mech:NAME".
func featureList(f *xmlstream.Element) []string {
	var out []string
	for _, e := range f.Elements() {
		out = append(out, e.Local)
		if e.Local == "mechanisms" {
			for _, m := range e.Elements() {
				out = append(out, "mech:"+m.Text())
			}
		}
	}
	return out
}

func hasFeature(f *xmlstream.Element, name string) bool {
	for _, n := range featureList(f) {
		if n == name {
			return true
		}
	}
	return false
}

func (c *rawClient) startTLS(cfg *tls.Config) {
	c.t.Helper()
	c.send(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`)
	c.expect(nsTLS, "proceed")
	tc := tls.Client(c.raw, cfg)
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.conn = tc
	c.br.Reset(tc)
}

// clientBinding returns the channel binding the server offers on c.
func (c *rawClient) clientBinding() scram.ChannelBinding {
	c.t.Helper()
	tc, ok := c.conn.(*tls.Conn)
	if !ok {
		return scram.ChannelBinding{}
	}
	cs := tc.ConnectionState()
	var cb scram.ChannelBinding
	var err error
	if cs.Version >= tls.VersionTLS13 {
		cb, err = scram.ExporterBinding(cs)
	} else {
		cb, err = scram.ServerEndPointBinding(cs.PeerCertificates[0])
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return cb
}

// authPlain sends PLAIN and returns <success/> or <failure/>.
func (c *rawClient) authPlain(authzid, user, pass string) *xmlstream.Element {
	c.t.Helper()
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` +
		sasl.EncodePayload([]byte(authzid+"\x00"+user+"\x00"+pass)) + `</auth>`)
	el, err := c.next()
	if err != nil {
		c.t.Fatalf("PLAIN: %v", err)
	}
	return el
}

// authSCRAM runs a SCRAM exchange; it returns the <failure/> condition, or ""
// on success.
func (c *rawClient) authSCRAM(mech, user, pass string) string {
	c.t.Helper()
	sc, err := newSCRAMClient(mech, user, pass, c.clientBinding())
	if err != nil {
		c.t.Fatal(err)
	}
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='` + mech + `'>` + sasl.EncodePayload(sc.first()) + `</auth>`)
	for step := 0; ; step++ {
		el, err := c.next()
		if err != nil {
			c.t.Fatalf("SCRAM: %v", err)
		}
		if el.Space != nsSASL {
			c.t.Fatalf("SCRAM: unexpected %s", el)
		}
		data, err := sasl.DecodePayload(el.Text())
		if err != nil {
			c.t.Fatal(err)
		}
		switch el.Local {
		case "failure":
			return el.Elements()[0].Local
		case "success":
			if err := sc.verify(data); err != nil {
				c.t.Fatal(err)
			}
			return ""
		case "challenge":
			if step > 0 {
				c.t.Fatalf("SCRAM: second challenge %s", el)
			}
			final, err := sc.final(data)
			if err != nil {
				c.t.Fatal(err)
			}
			c.send(`<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>` + sasl.EncodePayload(final) + `</response>`)
		}
	}
}

// bind binds res ("" for a server-generated one) and returns the full JID.
func (c *rawClient) bind(res string) string {
	c.t.Helper()
	r := ""
	if res != "" {
		r = "<resource>" + res + "</resource>"
	}
	c.send(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>` + r + `</bind></iq>`)
	el := c.expect(nsClient, "iq")
	if el.Attr("type") != "result" || el.Attr("id") != "bind1" {
		c.t.Fatalf("bind answered %s", el)
	}
	j := el.Child(nsBind, "bind").Child(nsBind, "jid").Text()
	if j == "" {
		c.t.Fatalf("bind result without jid: %s", el)
	}
	return j
}

// login negotiates TLS if offered, authenticates with mech ("PLAIN" or a
// SCRAM mechanism) and binds res; it returns the bound JID.
func (c *rawClient) login(user, mech, res string) string {
	c.t.Helper()
	f := c.open(testDomain)
	if hasFeature(f, "starttls") {
		c.startTLS(clientTLS(c.t))
		c.open(testDomain)
	}
	if mech == "PLAIN" {
		if el := c.authPlain("", user, testPassword); el.Local != "success" {
			c.t.Fatalf("PLAIN login of %s: %s", user, el)
		}
	} else if cond := c.authSCRAM(mech, user, testPassword); cond != "" {
		c.t.Fatalf("%s login of %s: %s", mech, user, cond)
	}
	f = c.open(testDomain)
	if !hasFeature(f, "bind") {
		c.t.Fatalf("post-auth features %v", featureList(f))
	}
	return c.bind(res)
}

// stanzaError returns the stanza error condition of el, or "".
func stanzaError(el *xmlstream.Element) string {
	e := el.Child(nsClient, "error")
	if e == nil {
		return ""
	}
	for _, c := range e.Elements() {
		if c.Space == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.Local != "text" {
			return c.Local + "/" + e.Attr("type")
		}
	}
	return "?"
}

func mustContain(t testing.TB, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Fatalf("%q does not contain %q", s, sub)
		}
	}
}
