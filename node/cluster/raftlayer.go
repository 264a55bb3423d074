package cluster

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// RaftLayer returns a raft.StreamLayer over the port's raft channel, to build a
// raft.NetworkTransport on. Closing the layer (the transport does so on shutdown) stops
// raft connections but leaves the port, its RPC and its mesh running, so a node can
// restart raft (to join another cluster) on the same port. Asking for a new layer
// replaces the previous one.
func (p *Port) RaftLayer() raft.StreamLayer {
	l := &raftLayer{p: p, ch: make(chan net.Conn), done: make(chan struct{})}
	p.mu.Lock()
	old := p.raft
	p.raft = l
	p.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return l
}

type raftLayer struct {
	p    *Port
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

var _ raft.StreamLayer = (*raftLayer)(nil)

// deliver hands an authenticated raft connection to the transport's accept loop.
func (l *raftLayer) deliver(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	case <-l.p.ctx.Done():
		return false
	}
}

func (l *raftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, ErrClosed
	case <-l.p.ctx.Done():
		return nil, ErrClosed
	}
}

func (l *raftLayer) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.p.mu.Lock()
		if l.p.raft == l {
			l.p.raft = nil
		}
		l.p.mu.Unlock()
	})
	return nil
}

func (l *raftLayer) Addr() net.Addr { return advertiseAddr(l.p.self.Addr) }

func (l *raftLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	select {
	case <-l.done:
		return nil, ErrClosed
	default:
	}
	ctx, cancel := context.WithTimeout(l.p.ctx, timeout)
	defer cancel()
	c, _, err := l.p.dial(ctx, string(address), ChanRaft)
	return c, err
}

// advertiseAddr is a net.Addr for an address that may be a host name: raft only ever
// uses its String form.
type advertiseAddr string

func (a advertiseAddr) Network() string { return "tcp" }
func (a advertiseAddr) String() string  { return string(a) }
