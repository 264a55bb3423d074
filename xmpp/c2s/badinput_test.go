package c2s

import (
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// countingListener counts the bytes the server reads from each connection.
type countingListener struct {
	net.Listener
	mu    sync.Mutex
	reads []*atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	n := new(atomic.Int64)
	l.mu.Lock()
	l.reads = append(l.reads, n)
	l.mu.Unlock()
	return &countingConn{Conn: c, n: n}, nil
}

func (l *countingListener) last() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reads[len(l.reads)-1].Load()
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// sendAsync writes payload from a goroutine (the server may stop reading
// long before the end) and returns a function that waits for it.
func sendAsync(c *rawClient, payload string) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c.conn, payload)
	}()
	return func() {
		c.raw.Close()
		<-done
	}
}

func TestBadInput(t *testing.T) {
	const limit = 65536
	cl := &countingListener{}
	s := startServer(t, noTLS, func(c *Config) { c.MaxStanzaSize = limit },
		func(ln net.Listener) net.Listener { cl.Listener = ln; return cl })
	tests := []struct {
		name, payload string
		cond          xmlstream.Condition
		authenticated bool
	}{
		{"oversized stanza", "<message><body>" + strings.Repeat("a", 4<<20) + "</body></message>", xmlstream.PolicyViolation, false},
		{"oversized stanza when bound", "<message to='bob@example.com'><body>" + strings.Repeat("a", 4<<20) + "</body></message>", xmlstream.PolicyViolation, true},
		{"oversized attribute", "<message to='" + strings.Repeat("a", 1<<20) + "'/>", xmlstream.PolicyViolation, true},
		{"deep nesting", "<message>" + strings.Repeat("<a>", 100000) + strings.Repeat("</a>", 100000) + "</message>", xmlstream.PolicyViolation, true},
		{"comment", "<!-- hello -->", xmlstream.RestrictedXML, false},
		{"comment in stanza", "<message><!-- hello --></message>", xmlstream.RestrictedXML, true},
		{"processing instruction", "<?foo bar?>", xmlstream.RestrictedXML, true},
		{"doctype", "<!DOCTYPE message [<!ENTITY x 'y'>]><message/>", xmlstream.RestrictedXML, false},
		{"entity reference", "<message><body>&x;</body></message>", xmlstream.RestrictedXML, true},
		{"broken XML", "<message><body></message>", xmlstream.NotWellFormed, true},
		{"invalid UTF-8", "<message><body>\xff\xfe</body></message>", xmlstream.NotWellFormed, true},
		{"invalid UTF-8 before auth", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>\xc3\x28</auth>", xmlstream.NotWellFormed, false},
		{"undeclared prefix", "<foo:message><body/></foo:message>", xmlstream.NotWellFormed, true},
		{"undeclared attribute prefix", "<message x:y='1'/>", xmlstream.NotWellFormed, true},
		{"text between stanzas", "hello<message/>", xmlstream.BadFormat, true},
		{"second stream header", strings.TrimPrefix(header(testDomain), "<?xml version='1.0'?>"), xmlstream.BadFormat, true},
		{"unknown top-level element", "<enable xmlns='urn:xmpp:sm:3'/>", UnsupportedStanzaType, true},
		{"unknown nonza before auth", "<foo xmlns='urn:bar'/>", UnsupportedStanzaType, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, s.addr)
			if tt.authenticated {
				c.login("alice", "PLAIN", "")
			} else {
				c.open(testDomain)
			}
			wait := sendAsync(c, tt.payload)
			c.expectStreamError(tt.cond)
			wait()
			// The connection's goroutine has ended.
			waitFor(t, "connection closed", func() bool { return s.l.NumConns() == 0 })
			if tt.cond == xmlstream.PolicyViolation {
				// The limit plus one read buffer, plus the negotiation.
				if n := cl.last(); n > limit+2*DefaultReadBufferSize+1024 {
					t.Errorf("server read %d bytes before refusing", n)
				}
			}
		})
	}
	// The server keeps serving.
	c := dial(t, s.addr)
	c.login("bob", "PLAIN", "after")
}

func TestManyIdleUnauthenticatedConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1000 connections")
	}
	const idle = 1000
	s := startServer(t, func(c *Config) { c.StateTimeout = time.Minute })
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range idle {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if i%2 == 0 {
			// Half of them get as far as a stream header.
			io.WriteString(c, header(testDomain))
		}
	}
	waitFor(t, "all connections accepted", func() bool { return s.l.NumConns() == idle })
	start := time.Now()
	c := dial(t, s.addr)
	c.login("alice", "SCRAM-SHA-256-PLUS", "")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("login next to %d idle connections took %v", idle, d)
	}
}

func TestMaxConnections(t *testing.T) {
	s := startServer(t, noTLS, func(c *Config) { c.MaxConnections = 2 })
	a, b := dial(t, s.addr), dial(t, s.addr)
	a.open(testDomain)
	b.open(testDomain)
	over := dial(t, s.addr)
	over.expectEOF()
	a.raw.Close()
	waitFor(t, "a slot to free up", func() bool { return s.l.NumConns() == 1 })
	c := dial(t, s.addr)
	c.login("alice", "PLAIN", "")
}
