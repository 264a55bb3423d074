package mam

import (
	"sync"
	"time"
)

// Query shaping, as MongooseIM's mam_shaper (1 query per second per user) and
// mam_global_shaper (1000 per second per node). MongooseIM delays a query that is
// over the rate and refuses it only when the delay would be too long; here a query
// over the rate is refused at once (<resource-constraint/>), because an IQ handler
// runs on the sender's goroutine and must not sleep. A user may burst
// UserQueryBurst queries (a client syncing several conversations after reconnecting)
// before the rate applies.
const (
	UserQueryRate   = 1
	UserQueryBurst  = 20
	GlobalQueryRate = 1000
)

// bucket is a token bucket: rate tokens per second, at most burst.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate, burst int) *bucket {
	return &bucket{rate: float64(rate), burst: float64(burst), tokens: float64(burst)}
}

func (b *bucket) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.take(now)
}

func (b *bucket) take(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// userShaper keeps one bucket per user. Buckets that have refilled are forgotten
// when the map grows, so idle users cost nothing.
type userShaper struct {
	mu      sync.Mutex
	rate    int
	burst   int
	buckets map[string]*bucket
}

func newUserShaper(rate, burst int) *userShaper {
	return &userShaper{rate: rate, burst: burst, buckets: map[string]*bucket{}}
}

func (u *userShaper) allow(user string, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	b, ok := u.buckets[user]
	if !ok {
		if len(u.buckets) >= 10000 {
			full := time.Duration(float64(u.burst)/float64(u.rate)) * time.Second
			for k, o := range u.buckets {
				if now.Sub(o.last) >= full {
					delete(u.buckets, k)
				}
			}
		}
		b = newBucket(u.rate, u.burst)
		u.buckets[user] = b
	}
	return b.take(now)
}
