package c2s

import (
	"io"
	"time"

	"golang.org/x/time/rate"
)

// shaper limits how fast a connection's input is consumed: a token bucket of
// ShaperRate bytes per second (MongooseIM's [shaper.NAME] max_rate) whose
// capacity is one second's worth. After each read it sleeps until the bytes
// are paid for, so a flooding client is slowed down by TCP flow control
// rather than buffered.
type shaper struct {
	r    io.Reader
	lim  *rate.Limiter
	done <-chan struct{}
}

func newShaper(r io.Reader, bytesPerSecond int, done <-chan struct{}) *shaper {
	return &shaper{r: r, lim: rate.NewLimiter(rate.Limit(bytesPerSecond), bytesPerSecond), done: done}
}

func (s *shaper) Read(p []byte) (int, error) {
	if b := s.lim.Burst(); len(p) > b {
		p = p[:b] // a reservation cannot exceed the bucket
	}
	n, err := s.r.Read(p)
	if n > 0 {
		if d := s.lim.ReserveN(time.Now(), n).Delay(); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return n, errClosing
			}
		}
	}
	return n, err
}
