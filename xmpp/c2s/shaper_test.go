package c2s

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { return len(p), nil }

func TestShaperLimitsRate(t *testing.T) {
	done := make(chan struct{})
	s := newShaper(zeros{}, 20000, done)
	start := time.Now()
	// The bucket starts full (one second's worth); the next 10000 bytes
	// must wait half a second.
	if _, err := io.CopyN(io.Discard, s, 30000); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("30000 bytes at 20000 B/s took %v", d)
	}
	// Reads never exceed the bucket.
	buf := make([]byte, 1<<20)
	if n, _ := newShaper(zeros{}, 20000, done).Read(buf); n > 20000 {
		t.Errorf("read %d bytes at once", n)
	}
}

func TestShaperStopsWaitingOnClose(t *testing.T) {
	done := make(chan struct{})
	s := newShaper(zeros{}, 10, done)
	buf := make([]byte, 10)
	if _, err := s.Read(buf); err != nil { // the burst
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		close(done)
	}()
	start := time.Now()
	if _, err := s.Read(buf); !errors.Is(err, errClosing) {
		t.Errorf("read during close: %v", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("close took %v to interrupt the wait", d)
	}
}

func TestShaperOnListener(t *testing.T) {
	s := startServer(t, noTLS, func(c *Config) { c.ShaperRate = 3000 })
	c := dial(t, s.addr)
	c.login("alice", "PLAIN", "")
	start := time.Now()
	c.send(`<message to='nobody@example.com'><body>` + strings.Repeat("z", 6000) + `</body></message>`)
	<-s.r.routed
	// Login used under 1000 bytes of the 3000-byte bucket.
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("6000 bytes at 3000 B/s arrived in %v", d)
	}
	// A session waiting in the shaper still closes promptly.
	c.send(`<message to='nobody@example.com'><body>` + strings.Repeat("z", 20000) + `</body></message>`)
	start = time.Now()
	if err := s.l.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
}
