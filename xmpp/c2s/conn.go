package c2s

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/metrics"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// conn is one client connection and, once bound, the router.Session for it.
// Fields above mu belong to the reading goroutine (JID and HostType are set
// before Bind and never change after); those below are guarded by mu.
type conn struct {
	l      *Listener
	raw    net.Conn
	tls    *tls.Conn // nil until TLS is up
	shaper *shaper   // nil without a shaper
	br     *bufio.Reader
	p      *xmlstream.Parser

	hostType string
	secure   bool
	cb       scram.ChannelBinding // what -PLUS binds to on this connection
	mechs    []string             // SASL mechanisms offered on this stream
	saslMech string               // exchange in progress: its mechanism
	scram    *scram.Server
	fails    int    // failed SASL attempts
	user     string // authenticated localpart; "" before SASL success
	bound    bool
	jid      jid.JID
	jidStr   string // jid.String(), the stamp on every stanza sent
	bareStr  string

	// The host type's stanza counters, set with hostType (stream.go).
	stanzasIn, stanzasOut *metrics.Counter

	// Module state. mods is fixed at creation; managed is set before Bind and never
	// changes after; pres and kv are read by any goroutine.
	mods     module.ConnHooks
	keeper   module.SessionKeeper // mods' stream management hooks, if it has them
	adopted  atomic.Bool          // a resumed stream took this session over (resume.go)
	endOnce  sync.Once            // ends a detached session once (resume.go)
	detached atomic.Bool          // kept bound after the connection broke
	managed  bool                 // presence decides availability (mod_presence is on)
	pres     atomic.Pointer[presence]
	kvMu     sync.Mutex
	kv       map[any]any

	mu         sync.Mutex
	cond       sync.Cond // signalled when flushing ends
	domain     string    // the stream's domain once known (read by Stop for headers)
	w          io.Writer // raw or tls
	out        *[]byte   // pending output, nil when none
	outN       int       // stanzas in out
	flushing   bool      // a goroutine is writing out
	hold       bool      // output is held while the bind result is pending
	headerSent bool      // a stream header went out on the current stream
	closing    bool
	writeErr   error
	done       chan struct{}       // closed when closing starts
	endCond    xmlstream.Condition // the stream error the session ended with
	endText    string
}

func newConn(l *Listener, raw net.Conn) *conn {
	c := &conn{l: l, raw: raw, w: raw, done: make(chan struct{}), mods: l.cfg.Modules}
	c.cond.L = &c.mu
	c.keeper, _ = l.cfg.Modules.(module.SessionKeeper)
	var src io.Reader = raw
	if l.cfg.ShaperRate > 0 {
		c.shaper = newShaper(raw, l.cfg.ShaperRate, c.done)
		src = c.shaper
	}
	c.br = bufio.NewReaderSize(src, l.cfg.ReadBufferSize)
	c.p = xmlstream.NewParser(c.br, l.limits)
	return c
}

// serve runs the connection until it ends; it is the reading goroutine.
func (c *conn) serve() {
	defer c.l.remove(c)
	err := c.run()
	c.finish(err)
}

func (c *conn) run() error {
	if c.l.cfg.TLSMode == TLSDirect {
		if err := c.handshake(c.l.directTLS); err != nil {
			return err
		}
	}
	for {
		err := c.stream()
		if err != errRestart {
			return err
		}
		c.p.Reset(c.br)
	}
}

// finish sends whatever ends the stream for err, unbinds the session, waits
// (boundedly) for the last bytes to be written and closes the socket.
func (c *conn) finish(err error) {
	log := c.l.cfg.Logger
	var se *streamError
	// Bound the final write (and lift an expired negotiation deadline, which
	// would fail it at once).
	_ = c.raw.SetWriteDeadline(time.Now().Add(c.l.cfg.CloseTimeout))
	lost := false
	c.mu.Lock()
	switch {
	case c.closing:
		// Stop, an overflow or a write error got here first.
	case errors.As(err, &se):
		c.closeWithLocked(se.cond, se.text)
	case errors.Is(err, xmlstream.ErrStreamClosed):
		c.closeWithLocked("", "")
	case xmlstream.ConditionOf(err) != "":
		c.closeWithLocked(xmlstream.ConditionOf(err), streamErrorText(err))
	case errors.Is(err, os.ErrDeadlineExceeded) && !c.bound:
		c.closeWithLocked(ConnectionTimeout, "")
	default:
		// EOF, a reset, a write error, a failed TLS handshake: nobody to
		// talk to. For a bound session this is a lost connection, which
		// stream management may survive.
		c.markClosingLocked()
		lost = true
	}
	c.mu.Unlock()
	if err != nil && !errors.Is(err, xmlstream.ErrStreamClosed) && !errors.Is(err, io.EOF) {
		log.Debug("c2s: connection ends", "remote", c.raw.RemoteAddr(), "jid", c.jidStr, "error", err)
	}
	if c.bound && lost && c.keeper != nil && c.keeper.ConnectionLost(c, c.endDetached) {
		// Stream management keeps the session bound, detached, until it is
		// resumed or its module calls endDetached.
		c.detached.Store(true)
		c.mu.Lock()
		c.waitFlushLocked()
		c.mu.Unlock()
		_ = c.raw.Close()
		return
	}
	// The adoption token: a resumption (here or on another node) that took the
	// session first keeps it bound; otherwise none can take it from now on.
	if c.bound && c.adopted.CompareAndSwap(false, true) {
		c.l.cfg.Router.Unbind(c)
		if c.mods != nil {
			c.mu.Lock()
			end := module.Close{Condition: c.endCond, Text: c.endText}
			c.mu.Unlock()
			end.Replaced = end.Condition == Conflict && end.Text == router.ReplacedText
			c.mods.SessionClosed(c, end)
		}
	}
	c.mu.Lock()
	c.waitFlushLocked()
	c.mu.Unlock()
	_ = c.raw.Close()
}

// streamErrorText returns the parser's detail for a stream error; it describes
// the peer's own input, so it is fine to send back.
func streamErrorText(err error) string {
	var se *xmlstream.StreamError
	if errors.As(err, &se) {
		return se.Text
	}
	return ""
}

// newID returns a fresh random identifier (stream ids, generated resources).
func newID() string { return rand.Text() }
