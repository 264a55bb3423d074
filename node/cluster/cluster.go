// Package cluster is a node's cluster port: one TCP listener that carries raft, the
// node-to-node RPC (write forwarding, join, leave, status) and the session mesh, each
// connection encrypted with TLS and authenticated by a challenge-response over the
// cluster secret before its first byte reaches raft, RPC or mesh code.
package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Channels: the byte a client sends after authenticating says what the connection is for.
// They are part of the wire format between nodes: never renumber one.
const (
	ChanRaft byte = 1
	ChanRPC  byte = 2
	// ChanMesh is reserved for the session mesh; its connections go to the handler
	// registered with HandleMesh.
	ChanMesh byte = 3
)

// Config configures a cluster port.
type Config struct {
	// Listen is the host:port to bind ("127.0.0.1:0" picks a port).
	Listen string
	// Advertise is the address peers dial; empty means the bound address.
	Advertise string
	// Secret is the cluster secret every peer must prove. Empty is allowed and then
	// authenticates nothing: any peer holding the empty secret gets in.
	Secret string
	// DataDir holds the port's TLS key and self-signed certificate.
	DataDir  string
	NodeName string
	Logger   *slog.Logger
	// HandshakeTimeout bounds TLS plus authentication of one connection (default 5 s).
	HandshakeTimeout time.Duration
}

// DefaultHandshakeTimeout bounds how long an unauthenticated connection may live.
const DefaultHandshakeTimeout = 5 * time.Second

// maxPendingHandshakes bounds unauthenticated connections, so a flood of idle sockets
// costs a fixed number of goroutines.
const maxPendingHandshakes = 64

// ErrClosed is returned by a closed port.
var ErrClosed = errors.New("cluster port closed")

// ErrBlocked is returned when dialing a peer cut off by Block (tests' partitions).
var ErrBlocked = errors.New("peer blocked")

// Port is a listening cluster port.
type Port struct {
	cfg    Config
	secret []byte
	log    *slog.Logger
	ln     net.Listener
	self   Peer
	tlsSrv *tls.Config
	tlsCli *tls.Config

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sem    chan struct{}

	mu      sync.Mutex
	raft    *raftLayer
	rpc     map[string]Handler
	mesh    func(ctx context.Context, conn net.Conn, peer Peer)
	conns   map[*conn]struct{}
	blocked map[string]bool
	closed  bool

	pool rpcPool
}

// Listen binds the cluster port and starts accepting connections.
func Listen(cfg Config) (*Port, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	cert, err := loadOrCreateCert(cfg.DataDir, cfg.NodeName)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster: listen %s: %w", cfg.Listen, err)
	}
	adv := cfg.Advertise
	if adv == "" {
		adv = ln.Addr().String()
	}
	p := &Port{
		cfg:     cfg,
		secret:  []byte(cfg.Secret),
		log:     cfg.Logger,
		ln:      ln,
		self:    Peer{Name: cfg.NodeName, Addr: adv},
		tlsSrv:  serverTLS(cert),
		tlsCli:  clientTLS(),
		sem:     make(chan struct{}, maxPendingHandshakes),
		rpc:     map[string]Handler{},
		conns:   map[*conn]struct{}{},
		blocked: map[string]bool{},
	}
	p.pool.idle = map[string][]*rpcConn{}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr is the address peers dial: the advertise address, or the bound one.
func (p *Port) Addr() string { return p.self.Addr }

// Close stops accepting and closes every connection, raft's and the mesh's included,
// so peers notice at once that this node is gone.
func (p *Port) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	conns := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	p.cancel()
	err := p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	p.pool.closeAll()
	p.wg.Wait()
	return err
}

// HandleMesh registers the handler of incoming mesh connections. Without one, mesh
// connections are refused during the handshake.
func (p *Port) HandleMesh(h func(ctx context.Context, conn net.Conn, peer Peer)) {
	p.mu.Lock()
	p.mesh = h
	p.mu.Unlock()
}

// DialMesh opens an authenticated mesh connection to the peer at addr.
func (p *Port) DialMesh(ctx context.Context, addr string) (net.Conn, Peer, error) {
	return p.dial(ctx, addr, ChanMesh)
}

// Block cuts this node off from the peers advertising the given addresses: dials to
// them fail, their connections are refused, and live connections with them are
// closed. Block() with no addresses heals. It exists for partition tests.
func (p *Port) Block(addrs ...string) {
	p.mu.Lock()
	p.blocked = map[string]bool{}
	for _, a := range addrs {
		p.blocked[a] = true
	}
	var cut []*conn
	for c := range p.conns {
		if p.blocked[c.peer.Addr] {
			cut = append(cut, c)
		}
	}
	p.mu.Unlock()
	for _, c := range cut {
		c.Close()
	}
	p.pool.dropMatching(func(addr string) bool { return p.isBlocked(addr) })
}

func (p *Port) isBlocked(addr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blocked[addr]
}

func (p *Port) acceptLoop() {
	defer p.wg.Done()
	var delay time.Duration
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			// Out of file descriptors and the like: back off instead of spinning.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			p.log.Warn("cluster port accept failed", "err", err)
			select {
			case <-p.ctx.Done():
				return
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		select {
		case p.sem <- struct{}{}:
		default:
			p.log.Warn("cluster port: too many unauthenticated connections, dropping one", "remote", c.RemoteAddr())
			c.Close()
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serveConn(c)
		}()
	}
}

// serveConn authenticates one incoming connection and hands it to its channel's owner.
func (p *Port) serveConn(raw net.Conn) {
	released := false
	release := func() {
		if !released {
			released = true
			<-p.sem
		}
	}
	defer release()
	_ = raw.SetDeadline(time.Now().Add(p.cfg.HandshakeTimeout))
	// Closing the port cuts handshakes short instead of waiting out their deadline.
	stop := context.AfterFunc(p.ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	tc := tls.Server(raw, p.tlsSrv)
	ch, peer, err := serverHandshake(tc, p.secret, p.self, p.acceptChannel)
	stop()
	if err != nil {
		p.log.Warn("cluster port: refused connection", "remote", raw.RemoteAddr(), "err", err)
		raw.Close()
		return
	}
	_ = raw.SetDeadline(time.Time{})
	release()
	c, ok := p.track(tc, peer)
	if !ok {
		return
	}
	switch ch {
	case ChanRaft:
		p.mu.Lock()
		l := p.raft
		p.mu.Unlock()
		if l == nil || !l.deliver(c) {
			c.Close()
		}
	case ChanRPC:
		p.serveRPC(c)
	case ChanMesh:
		p.mu.Lock()
		h := p.mesh
		p.mu.Unlock()
		if h == nil {
			c.Close()
			return
		}
		h(p.ctx, c, peer)
	}
}

// acceptChannel decides, once the peer has proved the secret, whether its channel is
// served at all: unknown channels, a mesh without a handler, and blocked peers are not.
func (p *Port) acceptChannel(ch byte, peer Peer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.blocked[peer.Addr] {
		return false
	}
	switch ch {
	case ChanRaft:
		return p.raft != nil
	case ChanRPC:
		return true
	case ChanMesh:
		return p.mesh != nil
	}
	return false
}

// dial opens an authenticated connection for channel ch.
func (p *Port) dial(ctx context.Context, addr string, ch byte) (net.Conn, Peer, error) {
	if p.ctx.Err() != nil {
		return nil, Peer{}, ErrClosed
	}
	if p.isBlocked(addr) {
		return nil, Peer{}, fmt.Errorf("dial %s: %w", addr, ErrBlocked)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.HandshakeTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, Peer{}, &UnreachableError{Addr: addr, Err: err}
	}
	dl, _ := ctx.Deadline()
	_ = raw.SetDeadline(dl)
	// A context cancelled mid-handshake (port closing) unblocks the reads at once.
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	tc := tls.Client(raw, p.tlsCli)
	peer, err := clientHandshake(tc, p.secret, ch, p.self)
	stop()
	if err != nil {
		raw.Close()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, ErrSecretMismatch) {
			err = fmt.Errorf("%w (%s)", ErrHandshakeTimeout, p.cfg.HandshakeTimeout)
		}
		return nil, Peer{}, fmt.Errorf("dial %s: %w", addr, err)
	}
	_ = raw.SetDeadline(time.Time{})
	c, ok := p.track(tc, peer)
	if !ok {
		return nil, Peer{}, ErrClosed
	}
	return c, peer, nil
}

// UnreachableError means no TCP connection could be made: the request was not sent.
type UnreachableError struct {
	Addr string
	Err  error
}

func (e *UnreachableError) Error() string { return fmt.Sprintf("%s unreachable: %v", e.Addr, e.Err) }
func (e *UnreachableError) Unwrap() error { return e.Err }

// conn is an authenticated connection the port keeps track of, so Close and Block can
// cut it.
type conn struct {
	*tls.Conn
	p    *Port
	peer Peer
	once sync.Once
}

func (p *Port) track(tc *tls.Conn, peer Peer) (*conn, bool) {
	c := &conn{Conn: tc, p: p, peer: peer}
	p.mu.Lock()
	if p.closed || p.blocked[peer.Addr] {
		p.mu.Unlock()
		tc.NetConn().Close()
		return nil, false
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	return c, true
}

// Close closes the socket without waiting for a TLS close_notify to drain, which could
// block on a peer that stopped reading.
func (c *conn) Close() error {
	var err error
	c.once.Do(func() {
		c.p.mu.Lock()
		delete(c.p.conns, c)
		c.p.mu.Unlock()
		err = c.Conn.NetConn().Close()
	})
	return err
}
