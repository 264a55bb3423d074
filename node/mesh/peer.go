package mesh

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// peerConn is the one mesh connection with a peer. Anything may queue frames on it
// without blocking: the queue is a byte buffer that one writer goroutine drains
// with a single write per batch. A queue past its limit means the peer cannot keep
// up; rather than block the router or silently lose table updates, the connection
// is closed, the peer's sessions leave this node's table, and the reconnect
// resynchronises both tables.
type peerConn struct {
	m    *Mesh
	node string
	conn net.Conn
	// gen tags the table entries learnt on this connection; set by register.
	gen uint64
	// calls waits for the answers to this node's calls (call.go).
	calls calls

	mu     sync.Mutex
	buf    []byte // frames waiting for the writer
	closed bool
	wake   chan struct{}
	done   chan struct{}
	// reason is why the connection was closed from this side, for the log.
	reason string
}

func newPeerConn(m *Mesh, node string, conn net.Conn) *peerConn {
	return &peerConn{m: m, node: node, conn: conn, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// frame appends one frame built by fn to the queue. force skips the limit (the full
// table sent on connect, which may be large by itself). It returns false when the
// connection is closed or just overflowed.
func (pc *peerConn) frame(force bool, fn func([]byte) []byte) bool {
	pc.mu.Lock()
	if pc.closed {
		pc.mu.Unlock()
		return false
	}
	n := len(pc.buf)
	pc.buf = fn(pc.buf)
	if !force && len(pc.buf) > pc.m.cfg.MaxQueueBytes {
		pc.buf = pc.buf[:n]
		pc.mu.Unlock()
		pc.close(fmt.Sprintf("send queue over %d bytes", pc.m.cfg.MaxQueueBytes))
		return false
	}
	pc.mu.Unlock()
	select {
	case pc.wake <- struct{}{}:
	default:
	}
	return true
}

// close shuts the connection; the reading goroutine then cleans up. It takes no
// mesh lock, so it may run under one (an overflow while publishing a bind).
func (pc *peerConn) close(reason string) {
	pc.mu.Lock()
	if pc.closed {
		pc.mu.Unlock()
		return
	}
	pc.closed = true
	pc.reason = reason
	pc.buf = nil
	pc.mu.Unlock()
	close(pc.done)
	_ = pc.conn.Close()
	pc.calls.fail()
}

func (pc *peerConn) closeReason() string {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.reason
}

// writeLoop drains the queue and sends a heartbeat every Heartbeat.
func (pc *peerConn) writeLoop() {
	defer pc.m.wg.Done()
	hb := time.NewTicker(pc.m.cfg.Heartbeat)
	defer hb.Stop()
	var out []byte
	for {
		select {
		case <-pc.done:
			return
		case <-pc.m.ctx.Done():
			// Also covers a connection registered while Close was cutting the others.
			pc.close("mesh closed")
			return
		case <-hb.C:
			pc.frame(true, func(b []byte) []byte { return appendEmpty(b, framePing) })
			continue
		case <-pc.wake:
		}
		pc.mu.Lock()
		out, pc.buf = pc.buf, out[:0]
		pc.mu.Unlock()
		if len(out) == 0 {
			continue
		}
		_ = pc.conn.SetWriteDeadline(time.Now().Add(pc.m.cfg.Timeout))
		if _, err := pc.conn.Write(out); err != nil {
			pc.close(fmt.Sprintf("write: %v", err))
			return
		}
		if cap(out) > 4*pc.m.cfg.MaxFrameBytes {
			out = nil // do not keep a burst's buffer for the connection's life
		}
	}
}

// deadlineReader arms the read deadline before every read of the socket, so a
// peer that sends nothing, not even heartbeats, for Timeout is declared dead.
type deadlineReader struct {
	c net.Conn
	d time.Duration
}

func (r deadlineReader) Read(p []byte) (int, error) {
	_ = r.c.SetReadDeadline(time.Now().Add(r.d))
	return r.c.Read(p)
}

// readLoop handles frames until the connection fails.
func (pc *peerConn) readLoop() error {
	m := pc.m
	br := bufio.NewReaderSize(deadlineReader{pc.conn, m.cfg.Timeout}, 64<<10)
	sp := newStanzaParser(m.cfg.MaxFrameBytes)
	var buf []byte
	first := true
	for {
		typ, b, nb, err := readFrame(br, buf, m.cfg.MaxFrameBytes)
		buf = nb
		if err != nil {
			return err
		}
		if first != (typ == frameHello) {
			return fmt.Errorf("mesh: frame %d out of order", typ)
		}
		first = false
		if err := pc.handle(typ, &body{b: b}, sp); err != nil {
			return err
		}
	}
}

func (pc *peerConn) handle(typ byte, r *body, sp *stanzaParser) error {
	m := pc.m
	switch typ {
	case frameHello:
		if v := r.uvarint(); r.err == nil && v != protocolVersion {
			return fmt.Errorf("mesh: peer speaks protocol %d, this node %d", v, protocolVersion)
		}
	case framePing:
	case frameAdd:
		full, ht, prio, avail := r.str(), r.str(), r.varint(), r.byte()
		if r.err != nil {
			return r.err
		}
		j, err := jid.Parse(full)
		if err != nil || j.Resource() == "" {
			return fmt.Errorf("mesh: add: bad JID %q", full)
		}
		m.table.put(router.RemoteSession{Node: pc.node, JID: j, HostType: ht, Priority: int(prio), Available: avail == 1}, pc.gen)
	case frameRemove:
		full := r.str()
		if r.err != nil {
			return r.err
		}
		if j, err := jid.Parse(full); err == nil {
			m.table.remove(pc.node, j, pc.gen)
		}
	case frameSynced:
		if n := m.table.dropNode(pc.node, pc.gen); n > 0 {
			m.log.Debug("mesh: dropped sessions the peer no longer has", "peer", pc.node, "sessions", n)
		}
	case frameRoute, frameDeliver:
		var full jid.JID
		if typ == frameDeliver {
			s := r.str()
			if r.err != nil {
				return r.err
			}
			var err error
			if full, err = jid.Parse(s); err != nil {
				return fmt.Errorf("mesh: deliver: bad JID %q", s)
			}
		}
		el, err := sp.parse(r.rest())
		if err != nil {
			// One bad stanza is the sender's bug, not a reason to drop the table.
			m.log.Warn("mesh: dropping a stanza from a peer", "peer", pc.node, "err", err)
			return nil
		}
		local := m.local()
		if local == nil {
			return nil
		}
		if typ == frameRoute {
			if err := local.RouteFromPeer(el); err != nil {
				m.log.Debug("mesh: unroutable stanza from a peer", "peer", pc.node, "err", err)
			}
		} else {
			local.DeliverFromPeer(full, el)
		}
	case frameStop:
		full, cond, text := r.str(), r.str(), r.str()
		if r.err != nil {
			return r.err
		}
		j, err := jid.Parse(full)
		if err != nil {
			return fmt.Errorf("mesh: stop: bad JID %q", full)
		}
		if local := m.local(); local != nil {
			local.StopFromPeer(j, xmlstream.Condition(cond), text)
		}
	case frameCall, frameReply:
		return pc.handleCall(typ, r)
	default:
		// A newer peer's frame this node does not know: skipping it keeps rolling
		// upgrades possible for additions that older nodes may ignore.
		m.log.Debug("mesh: unknown frame type", "peer", pc.node, "type", typ)
	}
	return nil
}

// quietErr tells a normal end of a connection from a failure worth a warning.
func quietErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}

// isTimeout reports a read deadline expiry: the peer stopped sending heartbeats.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
