package mesh

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCallFramesRoundTrip(t *testing.T) {
	var b []byte
	b = appendCall(b, 300, "sm/basic", []byte("req\x00"))
	b = appendReply(b, 300, replyFailed, []byte("why"))
	br := bufio.NewReader(bytes.NewReader(b))
	typ, bd, _, err := readFrame(br, nil, 1<<20)
	if err != nil || typ != frameCall {
		t.Fatalf("frame %d %v", typ, err)
	}
	r := &body{b: bd}
	if id, svc, req := r.uvarint(), r.str(), string(r.rest()); r.err != nil || id != 300 || svc != "sm/basic" || req != "req\x00" {
		t.Fatalf("call %d %q %q %v", id, svc, req, r.err)
	}
	typ, bd, _, err = readFrame(br, nil, 1<<20)
	if err != nil || typ != frameReply {
		t.Fatalf("frame %d %v", typ, err)
	}
	r = &body{b: bd}
	if id, st, ans := r.uvarint(), r.byte(), string(r.rest()); r.err != nil || id != 300 || st != replyFailed || ans != "why" {
		t.Fatalf("reply %d %d %q %v", id, st, ans, r.err)
	}
}

// TestCall: answers, handler errors, unknown services, size limits, unknown
// peers, and a call whose connection breaks fails at once.
func TestCall(t *testing.T) {
	n := &testNet{t: t, cfg: func(c *Config) { fastConfig(c); c.MaxFrameBytes = 4096 }}
	a := n.add("a", t.TempDir(), "127.0.0.1:0")
	b := n.add("b", t.TempDir(), "127.0.0.1:0")
	n.waitMesh()
	release := make(chan struct{})
	defer close(release)
	b.mesh.Handle("echo", func(_ context.Context, from string, req []byte) ([]byte, error) {
		switch string(req) {
		case "fail":
			return nil, errors.New("no luck")
		case "big":
			return bytes.Repeat([]byte("x"), 1<<20), nil
		case "block":
			<-release
		}
		return append([]byte(from+":"), req...), nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if got, err := a.mesh.Call(ctx, "b", "echo", []byte("hi")); err != nil || string(got) != "a:hi" {
		t.Fatalf("echo: %q %v", got, err)
	}
	if _, err := a.mesh.Call(ctx, "b", "echo", []byte("fail")); !errors.Is(err, ErrPeerFailed) || !strings.Contains(err.Error(), "no luck") {
		t.Fatalf("failing handler: %v", err)
	}
	if _, err := a.mesh.Call(ctx, "b", "nope", nil); !errors.Is(err, ErrNoService) {
		t.Fatalf("unknown service: %v", err)
	}
	if _, err := a.mesh.Call(ctx, "b", "echo", []byte("big")); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("answer too large: %v", err)
	}
	if _, err := a.mesh.Call(ctx, "b", "echo", make([]byte, a.mesh.cfg.MaxFrameBytes)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("call too large: %v", err)
	}
	if _, err := a.mesh.Call(ctx, "c", "echo", nil); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("unknown peer: %v", err)
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := a.mesh.Call(short, "b", "echo", []byte("block")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered call: %v", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := a.mesh.Call(ctx, "b", "echo", []byte("block"))
		errc <- err
	}()
	waitFor(t, 2*time.Second, "the call pending", func() bool {
		pc := a.mesh.conn("b")
		if pc == nil {
			return false
		}
		pc.calls.mu.Lock()
		defer pc.calls.mu.Unlock()
		return len(pc.calls.pending) == 1
	})
	a.mesh.conn("b").close("test")
	select {
	case err := <-errc:
		if !errors.Is(err, ErrNoPeer) {
			t.Fatalf("call on a broken connection: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a call on a broken connection still waits")
	}
}
