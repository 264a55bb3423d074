package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// The RPC channel carries request/response pairs, one in flight per connection. Each
// frame is one msgpack value; the body inside is itself msgpack, so the server can read
// a whole frame before it knows the body's type and a handler that ignores its body
// cannot desynchronise the stream.

// Handler serves one RPC operation. decode fills the request body into v. A returned
// *RemoteError reaches the caller as it is; any other error reaches it with code
// "internal".
type Handler func(ctx context.Context, peer Peer, decode func(v any) error) (any, error)

// RemoteError is an error answered by the peer's handler.
type RemoteError struct {
	Code string
	Msg  string
}

func (e *RemoteError) Error() string { return e.Msg }

// ErrInterrupted means the connection broke after the request was sent: the peer may or
// may not have acted on it.
var ErrInterrupted = errors.New("connection lost during the call")

type rpcRequest struct {
	Op string
	// Deadline is the caller's, in Unix nanoseconds (0: none); the handler gets it.
	Deadline int64
	Body     []byte
}

type rpcResponse struct {
	Code string
	Msg  string
	Body []byte
}

var mh = func() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.WriteExt = true
	return h
}()

// Encode and Decode are the msgpack codec of RPC bodies.
func Encode(v any) ([]byte, error) {
	var b []byte
	if err := codec.NewEncoderBytes(&b, mh).Encode(v); err != nil {
		return nil, fmt.Errorf("cluster: encode %T: %w", v, err)
	}
	return b, nil
}

func Decode(b []byte, v any) error {
	if err := codec.NewDecoderBytes(b, mh).Decode(v); err != nil {
		return fmt.Errorf("cluster: decode %T: %w", v, err)
	}
	return nil
}

// rpcIdleTimeout closes a server-side RPC connection nobody uses; clients drop their
// idle ones sooner (poolIdle), so a server rarely closes one a client is about to use.
const (
	rpcIdleTimeout = 90 * time.Second
	poolIdle       = 30 * time.Second
	poolPerPeer    = 4
)

// HandleRPC registers the handler of an operation.
func (p *Port) HandleRPC(op string, h Handler) {
	p.mu.Lock()
	p.rpc[op] = h
	p.mu.Unlock()
}

func (p *Port) serveRPC(c *conn) {
	defer c.Close()
	dec := codec.NewDecoder(bufio.NewReader(c), mh)
	w := bufio.NewWriter(c)
	enc := codec.NewEncoder(w, mh)
	for {
		_ = c.SetReadDeadline(time.Now().Add(rpcIdleTimeout))
		var req rpcRequest
		if err := dec.Decode(&req); err != nil {
			return
		}
		_ = c.SetReadDeadline(time.Time{})
		resp := p.handle(c.peer, &req)
		if err := enc.Encode(resp); err != nil {
			return
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

func (p *Port) handle(peer Peer, req *rpcRequest) (resp rpcResponse) {
	p.mu.Lock()
	h := p.rpc[req.Op]
	p.mu.Unlock()
	if h == nil {
		return rpcResponse{Code: "unknown_op", Msg: fmt.Sprintf("unknown cluster operation %q", req.Op)}
	}
	ctx, cancel := p.ctx, context.CancelFunc(func() {})
	if req.Deadline != 0 {
		ctx, cancel = context.WithDeadline(ctx, time.Unix(0, req.Deadline))
	}
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("cluster rpc handler panicked", "op", req.Op, "panic", r)
			resp = rpcResponse{Code: "internal", Msg: fmt.Sprintf("%s: internal error", req.Op)}
		}
	}()
	out, err := h(ctx, peer, func(v any) error { return Decode(req.Body, v) })
	if err != nil {
		var re *RemoteError
		if errors.As(err, &re) {
			return rpcResponse{Code: re.Code, Msg: re.Msg}
		}
		return rpcResponse{Code: "internal", Msg: err.Error()}
	}
	if out == nil {
		return rpcResponse{}
	}
	body, err := Encode(out)
	if err != nil {
		return rpcResponse{Code: "internal", Msg: err.Error()}
	}
	return rpcResponse{Body: body}
}

// Call runs op on the peer at addr and decodes its answer into resp (which may be nil).
// Errors: the dial errors (*UnreachableError, ErrSecretMismatch, ErrNotClusterPort,
// ErrHandshakeTimeout, ErrRefused, ErrBlocked, ErrClosed) mean the request was not sent; ErrInterrupted means it was
// and the outcome is unknown; *RemoteError is the handler's answer.
func (p *Port) Call(ctx context.Context, addr, op string, req, resp any) error {
	body, err := Encode(req)
	if err != nil {
		return err
	}
	r := rpcRequest{Op: op, Body: body}
	if dl, ok := ctx.Deadline(); ok {
		r.Deadline = dl.UnixNano()
	}
	for attempt := 0; ; attempt++ {
		rc, reused := p.pool.get(addr)
		if !reused {
			c, _, err := p.dial(ctx, addr, ChanRPC)
			if err != nil {
				return err
			}
			rc = newRPCConn(c)
		}
		out, sent, err := rc.roundTrip(ctx, &r)
		if err != nil {
			rc.c.Close()
			// A pooled connection the peer had already closed (it restarted) fails
			// before any answer arrives; the peer never saw the request, so one retry
			// on a fresh connection is safe.
			if reused && attempt == 0 && !sent {
				continue
			}
			if ctx.Err() != nil {
				return fmt.Errorf("cluster: %s on %s: %w (%w)", op, addr, ErrInterrupted, ctx.Err())
			}
			return fmt.Errorf("cluster: %s on %s: %w: %w", op, addr, ErrInterrupted, err)
		}
		p.pool.put(addr, rc)
		if out.Code != "" {
			return &RemoteError{Code: out.Code, Msg: out.Msg}
		}
		if resp == nil || len(out.Body) == 0 {
			return nil
		}
		return Decode(out.Body, resp)
	}
}

type rpcConn struct {
	c    net.Conn
	w    *bufio.Writer
	enc  *codec.Encoder
	dec  *codec.Decoder
	used time.Time
}

func newRPCConn(c net.Conn) *rpcConn {
	w := bufio.NewWriter(c)
	return &rpcConn{c: c, w: w, enc: codec.NewEncoder(w, mh), dec: codec.NewDecoder(bufio.NewReader(c), mh)}
}

// roundTrip sends one request and reads its answer. sent reports whether the peer may
// have received the request: false only when the connection proved dead before that.
func (rc *rpcConn) roundTrip(ctx context.Context, req *rpcRequest) (resp rpcResponse, sent bool, err error) {
	dl, _ := ctx.Deadline()
	_ = rc.c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = rc.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := rc.enc.Encode(req); err != nil {
		return resp, false, err
	}
	if err := rc.w.Flush(); err != nil {
		return resp, false, err
	}
	if err := rc.dec.Decode(&resp); err != nil {
		// The write went into the kernel's buffer either way; only an immediate EOF
		// or reset on a connection the peer had closed earlier is "not received", and
		// the caller only relies on that for pooled connections.
		return resp, !isConnGone(err), err
	}
	_ = rc.c.SetDeadline(time.Time{})
	return resp, true, nil
}

type rpcPool struct {
	mu     sync.Mutex
	idle   map[string][]*rpcConn
	closed bool
}

func (pl *rpcPool) get(addr string) (*rpcConn, bool) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for {
		cs := pl.idle[addr]
		if len(cs) == 0 {
			return nil, false
		}
		rc := cs[len(cs)-1]
		pl.idle[addr] = cs[:len(cs)-1]
		if time.Since(rc.used) < poolIdle {
			return rc, true
		}
		rc.c.Close()
	}
}

func (pl *rpcPool) put(addr string, rc *rpcConn) {
	rc.used = time.Now()
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.closed || len(pl.idle[addr]) >= poolPerPeer {
		rc.c.Close()
		return
	}
	pl.idle[addr] = append(pl.idle[addr], rc)
}

func (pl *rpcPool) dropMatching(match func(addr string) bool) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for addr, cs := range pl.idle {
		if match(addr) {
			for _, rc := range cs {
				rc.c.Close()
			}
			delete(pl.idle, addr)
		}
	}
}

func (pl *rpcPool) closeAll() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.closed = true
	for addr, cs := range pl.idle {
		for _, rc := range cs {
			rc.c.Close()
		}
		delete(pl.idle, addr)
	}
}

// isConnGone reports errors of a connection the peer closed or reset.
func isConnGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
