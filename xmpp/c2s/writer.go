package c2s

import (
	"sync"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Output path. Everything written to a connection is appended to c.out under
// c.mu and written by whichever goroutine holds the flushing flag: the reading
// goroutine itself during negotiation (writeNow), or a flusher goroutine that
// Deliver starts on demand and that exits once the buffer is empty. An idle
// session therefore has no writer goroutine and no write buffer; buffers come
// from a pool. Appends never wait for the network, so Deliver never blocks on
// a slow client: a client that stops reading sees its queue grow until
// OutQueueLen or OutQueueBytes is passed, and is then disconnected.

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// maxPooledBuf keeps an occasional huge burst from pinning memory in the pool.
const maxPooledBuf = 64 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > maxPooledBuf {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// outLocked returns the pending output buffer, borrowing one if needed.
func (c *conn) outLocked() *[]byte {
	if c.out == nil {
		c.out = getBuf()
	}
	return c.out
}

// kickLocked starts a flusher goroutine if output is pending and no one is
// writing.
func (c *conn) kickLocked() {
	if c.flushing || c.hold || c.out == nil || c.writeErr != nil {
		return
	}
	c.flushing = true
	go func() {
		c.mu.Lock()
		c.flushLocked()
		c.mu.Unlock()
	}()
}

// flushLocked writes pending output until there is none. c.mu is held on entry
// and exit (released around each Write) and c.flushing is set by the caller.
func (c *conn) flushLocked() {
	for c.out != nil && c.writeErr == nil {
		b, w := c.out, c.w
		c.out, c.outN = nil, 0
		c.mu.Unlock()
		_, err := w.Write(*b)
		putBuf(b)
		c.mu.Lock()
		if err != nil {
			c.writeErr = err
			c.dropOutLocked()
			// The reader may be parked in Read: closing the socket wakes it.
			_ = c.raw.Close()
		}
	}
	c.flushing = false
	c.cond.Broadcast()
}

// waitFlushLocked waits until no goroutine is writing, then writes whatever is
// still pending itself.
func (c *conn) waitFlushLocked() {
	for c.flushing {
		c.cond.Wait()
	}
	if c.out != nil && c.writeErr == nil {
		c.flushing = true
		c.flushLocked()
	}
}

func (c *conn) dropOutLocked() {
	if c.out != nil {
		putBuf(c.out)
		c.out, c.outN = nil, 0
	}
}

// writeNow writes b (a buffer from getBuf, which writeNow takes over) after
// anything already pending, and returns once it is written. The reading
// goroutine uses it during negotiation, when its replies must be on the wire
// before it goes on (<proceed/> before the TLS handshake).
func (c *conn) writeNow(b *[]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		putBuf(b)
		return errClosing
	}
	if c.out == nil {
		c.out = b
	} else {
		*c.out = append(*c.out, *b...)
		putBuf(b)
	}
	c.waitFlushLocked()
	if c.writeErr != nil {
		return c.writeErr
	}
	return nil
}

// writeElementNow writes one element in the client namespace with writeNow.
func (c *conn) writeElementNow(el *xmlstream.Element) error {
	b := getBuf()
	*b = el.AppendXML(*b, xmlstream.ClientNamespace)
	return c.writeNow(b)
}

// writeStringNow writes literal XML with writeNow.
func (c *conn) writeStringNow(s string) error {
	b := getBuf()
	*b = append(*b, s...)
	return c.writeNow(b)
}

// send queues an element for the client without waiting for the network; it
// is the reading goroutine's way to answer once the session is bound.
func (c *conn) send(el *xmlstream.Element) {
	c.mu.Lock()
	if !c.closing {
		o := c.outLocked()
		*o = el.AppendXML(*o, xmlstream.ClientNamespace)
		c.outN++
		c.stanzasOut.Inc()
		c.kickLocked()
	}
	c.mu.Unlock()
}

// enqueueLocked appends a stanza for Deliver on a connection that is not
// closing, and enforces the queue bounds: it returns false, having marked the
// connection closing, when the stanza overflows the queue.
func (c *conn) enqueueLocked(el *xmlstream.Element) bool {
	o := c.outLocked()
	*o = el.AppendXML(*o, xmlstream.ClientNamespace)
	c.outN++
	if c.outN > c.l.cfg.OutQueueLen || len(*o) > c.l.cfg.OutQueueBytes {
		c.l.cfg.Logger.Info("c2s: client does not read its stanzas; disconnecting",
			"jid", c.jidStr, "queued_stanzas", c.outN, "queued_bytes", len(*o))
		c.markClosingLocked()
		c.dropOutLocked()
		return false
	}
	c.stanzasOut.Inc()
	c.kickLocked()
	return true
}

// markClosingLocked makes the connection refuse further output and wakes
// anything waiting on it. It reports whether this call did it.
func (c *conn) markClosingLocked() bool {
	if c.closing {
		return false
	}
	c.closing = true
	close(c.done)
	return true
}

// closeWithLocked queues the end of the stream, a stream error first if cond
// is set (preceded by a stream header if none was sent on this stream), and
// marks the connection closing. It reports false if it was already closing.
func (c *conn) closeWithLocked(cond xmlstream.Condition, text string) bool {
	if !c.markClosingLocked() {
		return false
	}
	c.endCond, c.endText = cond, text
	if c.writeErr != nil {
		return true
	}
	o := c.outLocked()
	if !c.headerSent {
		*o = c.appendHeaderLocked(*o, "")
		c.headerSent = true
	}
	if cond != "" {
		*o = xmlstream.AppendStreamError(*o, cond, text)
	}
	*o = append(*o, xmlstream.StreamClose...)
	c.hold = false
	c.kickLocked()
	return true
}

// aLongTimeAgo is a deadline in the past: setting it makes a parked Read return.
var aLongTimeAgo = time.Unix(1, 0)

// setDeadline sets the read and write deadline of the socket, unless the
// connection is closing (whose wake-up deadline must not be overwritten).
func (c *conn) setDeadline(t time.Time) {
	c.mu.Lock()
	if !c.closing {
		_ = c.raw.SetDeadline(t)
	}
	c.mu.Unlock()
}
