package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func listen(t *testing.T, name, secret string) *Port {
	t.Helper()
	p, err := Listen(Config{Listen: "127.0.0.1:0", Secret: secret, DataDir: t.TempDir(), NodeName: name,
		Logger: quiet(), HandshakeTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func tctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

type echoReq struct{ Text string }
type echoResp struct {
	Text string
	From string
}

func TestRPCRoundTripAndErrors(t *testing.T) {
	a, b := listen(t, "a", "s3cret"), listen(t, "b", "s3cret")
	b.HandleRPC("echo", func(ctx context.Context, peer Peer, decode func(any) error) (any, error) {
		var r echoReq
		if err := decode(&r); err != nil {
			return nil, err
		}
		if r.Text == "fail" {
			return nil, &RemoteError{Code: "nope", Msg: "refused: " + r.Text}
		}
		if _, ok := ctx.Deadline(); !ok {
			return nil, errors.New("caller deadline not propagated")
		}
		return echoResp{Text: r.Text, From: peer.Name + "@" + peer.Addr}, nil
	})
	for range 3 { // pooled connections are reused across calls
		var out echoResp
		if err := a.Call(tctx(t), b.Addr(), "echo", echoReq{Text: "hi"}, &out); err != nil {
			t.Fatal(err)
		}
		if out.Text != "hi" || out.From != "a@"+a.Addr() {
			t.Fatalf("answer %+v", out)
		}
	}
	var re *RemoteError
	if err := a.Call(tctx(t), b.Addr(), "echo", echoReq{Text: "fail"}, nil); !errors.As(err, &re) || re.Code != "nope" || re.Msg != "refused: fail" {
		t.Fatalf("remote error = %v", err)
	}
	if err := a.Call(tctx(t), b.Addr(), "frob", echoReq{}, nil); !errors.As(err, &re) || re.Code != "unknown_op" {
		t.Fatalf("unknown op = %v", err)
	}
}

func TestPooledConnectionToRestartedPeerIsRetried(t *testing.T) {
	a := listen(t, "a", "x")
	dir := t.TempDir()
	start := func(addr string) *Port {
		b, err := Listen(Config{Listen: addr, Secret: "x", DataDir: dir, NodeName: "b", Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		b.HandleRPC("ping", func(context.Context, Peer, func(any) error) (any, error) { return "pong", nil })
		return b
	}
	b := start("127.0.0.1:0")
	addr := b.Addr()
	var s string
	if err := a.Call(tctx(t), addr, "ping", nil, &s); err != nil || s != "pong" {
		t.Fatalf("first call: %q %v", s, err)
	}
	b.Close()
	b = start(addr)
	defer b.Close()
	if err := a.Call(tctx(t), addr, "ping", nil, &s); err != nil || s != "pong" {
		t.Fatalf("call after restart: %q %v", s, err)
	}
}

func TestWrongSecretIsRefusedBothWays(t *testing.T) {
	a, b := listen(t, "a", "one"), listen(t, "b", "two")
	called := false
	b.HandleRPC("echo", func(context.Context, Peer, func(any) error) (any, error) { called = true; return nil, nil })
	if err := a.Call(tctx(t), b.Addr(), "echo", echoReq{}, nil); !errors.Is(err, ErrSecretMismatch) {
		t.Fatalf("call with wrong secret: %v", err)
	}
	if called {
		t.Fatal("handler ran for an unauthenticated peer")
	}
	// An empty secret is still a secret that must match, and still runs TLS.
	e := listen(t, "e", "")
	if err := e.Call(tctx(t), b.Addr(), "echo", echoReq{}, nil); !errors.Is(err, ErrSecretMismatch) {
		t.Fatalf("empty secret against a set one: %v", err)
	}
}

// rawClient opens TLS to p and runs the client side of the handshake by hand, proving
// the given secret, then sends payload in the same write as its proof: the server must
// not read it unless the proof holds.
func rawClient(t *testing.T, p *Port, secret string, payload []byte) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", p.Addr(), clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	ekm, _ := exporter(c)
	nonceC := make([]byte, nonceLen)
	rand.Read(nonceC)
	c.Write(append([]byte(magic), nonceC...))
	buf := make([]byte, nonceLen+macLen)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	msg := append(mac([]byte(secret), ekm, roleClient, nonceC, buf[:nonceLen]), ChanRaft)
	msg = appendID(appendID(msg, "intruder"), "10.0.0.1:1")
	if _, err := c.Write(append(msg, payload...)); err != nil {
		t.Fatal(err)
	}
	return c
}

// raftAppendEntries is what raft's NetworkTransport writes for an AppendEntries RPC
// carrying one command: the RPC type byte (0) and the msgpack request.
func raftAppendEntries(t *testing.T) []byte {
	var b bytes.Buffer
	b.WriteByte(0)
	req := &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ID: []byte("evil"), Addr: []byte("10.0.0.1:1")},
		Term:      99, Leader: []byte("10.0.0.1:1"),
		Entries: []*raft.Log{{Index: 1, Term: 99, Type: raft.LogCommand, Data: []byte("\x01payload")}},
	}
	if err := codec.NewEncoder(&b, &codec.MsgpackHandle{}).Encode(req); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func transport(t *testing.T, p *Port) *raft.NetworkTransport {
	tr := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: p.RaftLayer(), MaxPool: 2, Timeout: time.Second,
		Logger: hclog.New(&hclog.LoggerOptions{Output: io.Discard}),
	})
	t.Cleanup(func() { tr.Close() })
	return tr
}

// readUntilClosed reads until the server closes the connection and returns what came.
func readUntilClosed(t *testing.T, c net.Conn) []byte {
	t.Helper()
	got, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("server kept the connection open: %v", err)
	}
	return got
}

func TestRaftBytesWithoutTheSecretAreNeverProcessed(t *testing.T) {
	p := listen(t, "a", "right")
	tr := transport(t, p)
	evil := raftAppendEntries(t)

	c := rawClient(t, p, "wrong", evil)
	if got := readUntilClosed(t, c); len(got) != 0 {
		t.Fatalf("server answered an unauthenticated peer: %x", got)
	}
	select {
	case rpc := <-tr.Consumer():
		t.Fatalf("raft received %T from an unauthenticated peer", rpc.Command)
	default:
	}

	// Plain TCP carrying raft's own wire format is not even TLS.
	raw, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(5 * time.Second))
	raw.Write(evil)
	readUntilClosed(t, raw)
	select {
	case rpc := <-tr.Consumer():
		t.Fatalf("raft received %T over plain TCP", rpc.Command)
	default:
	}

	// Control: the same bytes after the right proof do reach raft, so the checks above
	// would have seen a leak.
	rawClient(t, p, "right", evil)
	select {
	case rpc := <-tr.Consumer():
		if _, ok := rpc.Command.(*raft.AppendEntriesRequest); !ok {
			t.Fatalf("got %T", rpc.Command)
		}
		rpc.Respond(&raft.AppendEntriesResponse{}, nil)
	case <-time.After(5 * time.Second):
		t.Fatal("authenticated raft bytes never reached raft")
	}
}

func TestSilentPeerIsClosedAfterHandshakeTimeout(t *testing.T) {
	p, err := Listen(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), NodeName: "a", Logger: quiet(),
		HandshakeTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	raw, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(5 * time.Second))
	readUntilClosed(t, raw)
}

func TestDialNonClusterAddresses(t *testing.T) {
	p, err := Listen(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), NodeName: "a", Logger: quiet(),
		HandshakeTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	web := httptest.NewServer(http.NotFoundHandler())
	defer web.Close()
	silent, _ := net.Listen("tcp", "127.0.0.1:0")
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	closedLn, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := closedLn.Addr().String()
	closedLn.Close()

	for _, tc := range []struct {
		name, addr string
		want       error
	}{
		{"http server", web.Listener.Addr().String(), ErrNotClusterPort},
		{"silent server", silent.Addr().String(), ErrHandshakeTimeout},
	} {
		start := time.Now()
		err := p.Call(context.Background(), tc.addr, "x", nil, nil)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: took %s", tc.name, d)
		}
	}
	var ue *UnreachableError
	if err := p.Call(context.Background(), closed, "x", nil, nil); !errors.As(err, &ue) {
		t.Errorf("closed port: %v", err)
	}
}

func TestMeshChannelGoesToItsHandler(t *testing.T) {
	a, b := listen(t, "a", "k"), listen(t, "b", "k")
	if _, _, err := a.DialMesh(tctx(t), b.Addr()); !errors.Is(err, ErrRefused) {
		t.Fatalf("mesh without a handler: %v", err)
	}
	got := make(chan Peer, 1)
	b.HandleMesh(func(_ context.Context, c net.Conn, peer Peer) {
		defer c.Close()
		got <- peer
		io.Copy(c, c)
	})
	c, peer, err := a.DialMesh(tctx(t), b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if peer.Name != "b" || peer.Addr != b.Addr() {
		t.Errorf("dialed peer %+v", peer)
	}
	if p := <-got; p.Name != "a" || p.Addr != a.Addr() {
		t.Errorf("accepted peer %+v", p)
	}
	c.Write([]byte("ping"))
	buf := make([]byte, 4)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo %q %v", buf, err)
	}
}

func TestBlockCutsLiveConnectionsAndDials(t *testing.T) {
	a, b := listen(t, "a", "k"), listen(t, "b", "k")
	b.HandleMesh(func(_ context.Context, c net.Conn, _ Peer) { io.Copy(io.Discard, c); c.Close() })
	c, _, err := a.DialMesh(tctx(t), b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	b.Block(a.Addr())
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("live connection survived the block: %v", err)
	}
	if _, _, err := a.DialMesh(tctx(t), b.Addr()); !errors.Is(err, ErrRefused) {
		t.Fatalf("blocked peer accepted: %v", err)
	}
	a.Block(b.Addr())
	if _, _, err := a.DialMesh(tctx(t), b.Addr()); !errors.Is(err, ErrBlocked) {
		t.Fatalf("dial to a blocked peer: %v", err)
	}
	a.Block()
	b.Block()
	if _, _, err := a.DialMesh(tctx(t), b.Addr()); err != nil {
		t.Fatalf("after healing: %v", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestCertificateIsKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	c1, err := loadOrCreateCert(dir, "n")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := loadOrCreateCert(dir, "n")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c1.Certificate[0], c2.Certificate[0]) {
		t.Fatal("a new certificate was generated on restart")
	}
}
