package c2s

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Listener accepts client connections on one [[listen.c2s]] address.
//
// The accept backlog is the operating system's (Go listens with
// net.core.somaxconn, which caps any configured backlog anyway).
type Listener struct {
	cfg       Config
	ln        net.Listener
	limits    xmlstream.Limits
	tlsCfg    *tls.Config // STARTTLS
	directTLS *tls.Config // direct TLS, with ALPN xmpp-client
	endPoint  scram.ChannelBinding

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
	wg     sync.WaitGroup // connection goroutines
	accept sync.WaitGroup // the accept loop
}

// Listen opens cfg.Addr and serves it.
func Listen(cfg Config) (*Listener, error) {
	if _, err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("c2s: %w", err)
	}
	l, err := Serve(ln, cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return l, nil
}

// Serve serves client connections accepted from ln (cfg.Addr is ignored). The
// Listener owns ln and closes it with Close; on error ln is left open.
func Serve(ln net.Listener, cfg Config) (*Listener, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Listener{
		cfg:    cfg,
		ln:     ln,
		limits: xmlstream.Limits{MaxStanzaSize: cfg.MaxStanzaSize},
		conns:  make(map[*conn]struct{}),
	}
	if err := l.prepareTLS(cfg.TLS); err != nil {
		return nil, err
	}
	l.accept.Add(1)
	go l.acceptLoop()
	return l, nil
}

// Addr returns the listening address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// NumConns returns the number of open connections.
func (l *Listener) NumConns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

func (l *Listener) acceptLoop() {
	defer l.accept.Done()
	var backoff time.Duration
	for {
		raw, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.cfg.Logger.Warn("c2s: accept failed", "address", l.ln.Addr(), "error", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		l.cfg.Metrics.ConnsAccepted.Inc()
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			raw.Close()
			return
		}
		if limit := l.cfg.MaxConnections; limit > 0 && len(l.conns) >= limit {
			l.mu.Unlock()
			// Debug: under a connection flood this would be one line each.
			l.cfg.Logger.Debug("c2s: max_connections reached; connection refused", "address", l.ln.Addr(), "remote", raw.RemoteAddr())
			raw.Close()
			continue
		}
		c := newConn(l, raw)
		l.conns[c] = struct{}{}
		l.cfg.Metrics.ConnsOpen.Inc()
		l.wg.Add(1)
		l.mu.Unlock()
		go c.serve()
	}
}

func (l *Listener) remove(c *conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	l.cfg.Metrics.ConnsOpen.Dec()
	l.wg.Done()
}

// Close stops accepting, ends every connection with <system-shutdown/> and
// waits for their goroutines (each waits at most CloseTimeout for its last
// bytes to be written).
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.wg.Wait()
		return nil
	}
	l.closed = true
	conns := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	err := l.ln.Close()
	l.accept.Wait()
	for _, c := range conns {
		c.Stop(SystemShutdown, "")
	}
	l.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("c2s: close: %w", err)
	}
	return nil
}
