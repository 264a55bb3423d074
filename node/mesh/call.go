package mesh

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/mongoose-go/mongoose-go/xmpp/module"
)

// Calls: a node asks a service of a peer and waits for its answer (stream
// resumption fetches a session's state this way). A call is a frameCall with a
// request id unique on its connection; the answer is a frameReply with the same id.
// The handler runs on its own goroutine, so a slow one never holds back the
// connection's other frames; answers may thus come in any order. A call whose
// connection breaks fails at once; one without an answer fails when its context
// ends. A peer that does not know frameCall ignores it (the call times out).
//
// The cluster port's RPC channel (node/cluster) also carries request/response pairs;
// calls travel here instead because their callers need them ordered with the mesh's
// other frames to the same peer. Stream resumption's commit is answered only after
// the stanzas forwarded to the new session, and mod_offline's confirming call comes
// back behind the messages it forwarded; on a separate connection either could
// overtake them.

// Errors of Call.
var (
	ErrNoPeer     = errors.New("mesh: peer not connected")
	ErrTooLarge   = errors.New("mesh: call or answer larger than a frame")
	ErrNoService  = errors.New("mesh: no such service on the peer")
	ErrPeerFailed = errors.New("mesh: the peer's handler failed")
)

// Reply status bytes.
const (
	replyOK        byte = 0
	replyFailed    byte = 1 // body: error text
	replyNoService byte = 2
	replyTooLarge  byte = 3
)

// callOverhead bounds what a call frame adds to its body (header, id, service).
const callOverhead = headerLen + 1 + 10 + 10

// Handler answers a peer's call.
type Handler func(ctx context.Context, from string, req []byte) ([]byte, error)

type reply struct {
	status byte
	body   []byte
}

// calls is a connection's calls waiting for their answer.
type calls struct {
	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan reply
	closed  bool
}

func (cs *calls) add() (uint64, chan reply, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return 0, nil, false
	}
	if cs.pending == nil {
		cs.pending = map[uint64]chan reply{}
	}
	cs.next++
	ch := make(chan reply, 1)
	cs.pending[cs.next] = ch
	return cs.next, ch, true
}

func (cs *calls) done(id uint64) chan reply {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	ch := cs.pending[id]
	delete(cs.pending, id)
	return ch
}

// fail ends every pending call: the connection is gone.
func (cs *calls) fail() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.closed = true
	for id, ch := range cs.pending {
		close(ch)
		delete(cs.pending, id)
	}
}

func appendCall(dst []byte, id uint64, service string, req []byte) []byte {
	dst, st := beginFrame(dst, frameCall)
	dst = binary.AppendUvarint(dst, id)
	dst = appendString(dst, service)
	return endFrame(append(dst, req...), st)
}

func appendReply(dst []byte, id uint64, status byte, body []byte) []byte {
	dst, st := beginFrame(dst, frameReply)
	dst = binary.AppendUvarint(dst, id)
	dst = append(dst, status)
	return endFrame(append(dst, body...), st)
}

// Self implements module.Cluster.
func (m *Mesh) Self() string { return m.cfg.Self }

// Handle implements module.Cluster.
func (m *Mesh) Handle(service string, h func(ctx context.Context, from string, req []byte) ([]byte, error)) {
	m.hmu.Lock()
	defer m.hmu.Unlock()
	if m.handlers == nil {
		m.handlers = map[string]Handler{}
	}
	if h == nil {
		delete(m.handlers, service)
		return
	}
	m.handlers[service] = h
}

func (m *Mesh) handler(service string) Handler {
	m.hmu.Lock()
	defer m.hmu.Unlock()
	return m.handlers[service]
}

// Call implements module.Cluster.
func (m *Mesh) Call(ctx context.Context, node, service string, req []byte) ([]byte, error) {
	if len(req)+len(service)+callOverhead > m.cfg.MaxFrameBytes {
		return nil, ErrTooLarge
	}
	pc := m.conn(node)
	if pc == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoPeer, node)
	}
	id, ch, ok := pc.calls.add()
	if !ok || !pc.frame(false, func(b []byte) []byte { return appendCall(b, id, service, req) }) {
		pc.calls.done(id)
		return nil, fmt.Errorf("%w: %s", ErrNoPeer, node)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%w: %s (connection lost)", ErrNoPeer, node)
		}
		switch r.status {
		case replyOK:
			return r.body, nil
		case replyNoService:
			return nil, fmt.Errorf("%w: %s on %s", ErrNoService, service, node)
		case replyTooLarge:
			return nil, ErrTooLarge
		default:
			return nil, fmt.Errorf("%w: %s", ErrPeerFailed, r.body)
		}
	case <-ctx.Done():
		pc.calls.done(id)
		return nil, ctx.Err()
	}
}

// Deliver (router.Remote) also implements module.Cluster's Deliver.
var _ module.Cluster = (*Mesh)(nil)

// serveCall runs a peer's call on its own goroutine and queues the answer.
func (pc *peerConn) serveCall(id uint64, service string, req []byte) {
	m := pc.m
	h := m.handler(service)
	if h == nil {
		pc.frame(false, func(b []byte) []byte { return appendReply(b, id, replyNoService, nil) })
		return
	}
	// req aliases the read buffer, which the next frame overwrites.
	req = append([]byte(nil), req...)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		body, err := h(m.ctx, pc.node, req)
		status := replyOK
		if err != nil {
			status, body = replyFailed, []byte(err.Error())
		}
		if len(body)+callOverhead > m.cfg.MaxFrameBytes {
			status, body = replyTooLarge, nil
		}
		pc.frame(false, func(b []byte) []byte { return appendReply(b, id, status, body) })
	}()
}

// handleCall reads a frameCall or frameReply body.
func (pc *peerConn) handleCall(typ byte, r *body) error {
	id := r.uvarint()
	if typ == frameCall {
		service := r.str()
		if r.err != nil {
			return r.err
		}
		pc.serveCall(id, service, r.rest())
		return nil
	}
	status := r.byte()
	if r.err != nil {
		return r.err
	}
	if ch := pc.calls.done(id); ch != nil {
		ch <- reply{status: status, body: append([]byte(nil), r.rest()...)}
	}
	return nil
}
