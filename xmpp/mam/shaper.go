package mam

import (
	"sync"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
)

// Query shaping, as MongooseIM's mod_mam does it: each action a user asks of an
// archive goes through two shapers named by access rules, a per-user one
// (mam_<action>_shaper, default config: mam_shaper, 1 per second) and a node-wide
// one shared by everyone whose rule names it (mam_<action>_global_shaper, default
// mam_global_shaper, 1000 per second). MongooseIM delays an action that is over the
// rate and refuses it only when the delay would be too long; here it is refused at
// once (<resource-constraint/>), because an IQ handler runs on the sender's
// goroutine and must not sleep. A user may burst UserQueryBurst actions (a client
// syncing several conversations after reconnecting) before the rate applies.
const (
	UserQueryRate   = 1
	UserQueryBurst  = 20
	GlobalQueryRate = 1000
)

// The actions shaped, named as in MongooseIM's access rules.
const (
	ActionLookup   = "lookup_messages"
	ActionGetPrefs = "get_prefs"
	ActionSetPrefs = "set_prefs"
)

// Shaping resolves the shapers of an action for a user of a host type: the per-user
// rate and the node-wide shaper's name and rate, in operations per second; a rate of
// 0 means not shaped. node/server resolves them from [access] and [shaper].
type Shaping func(hostType string, user jid.JID, action string) (userRate int, global string, globalRate int)

// defaultShaping is MongooseIM's default configuration.
func defaultShaping(string, jid.JID, string) (int, string, int) {
	return UserQueryRate, "mam_global_shaper", GlobalQueryRate
}

// shapers holds the buckets of one node: per user and action, and per global shaper.
type shapers struct {
	resolve Shaping
	users   *userShaper

	mu      sync.Mutex
	globals map[string]*bucket
}

func newShapers() *shapers {
	return &shapers{resolve: defaultShaping, users: newUserShaper(), globals: map[string]*bucket{}}
}

// allow takes a token of both shapers of the action, if it has any.
func (s *shapers) allow(hostType string, user jid.JID, action string, now time.Time) bool {
	userRate, name, globalRate := s.resolve(hostType, user.Bare(), action)
	if globalRate > 0 {
		s.mu.Lock()
		b := s.globals[name]
		if b == nil || b.rate != float64(globalRate) {
			b = newBucket(globalRate, globalRate)
			s.globals[name] = b
		}
		ok := b.take(now)
		s.mu.Unlock()
		if !ok {
			return false
		}
	}
	return userRate <= 0 || s.users.allow(user.Bare().String()+"\x00"+action, userRate, now)
}

// bucket is a token bucket: rate tokens per second, at most burst. Its owner's
// lock guards it.
type bucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate, burst int) *bucket {
	return &bucket{rate: float64(rate), burst: float64(burst), tokens: float64(burst)}
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

// userShaper keeps one bucket per user and action. Buckets that have refilled are
// forgotten when the map grows, so idle users cost nothing.
type userShaper struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

func newUserShaper() *userShaper {
	return &userShaper{buckets: map[string]*bucket{}}
}

func (u *userShaper) allow(key string, rate int, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	b, ok := u.buckets[key]
	if !ok || b.rate != float64(rate) {
		if len(u.buckets) >= 10000 {
			for k, o := range u.buckets {
				if now.Sub(o.last).Seconds() >= o.burst/o.rate {
					delete(u.buckets, k)
				}
			}
		}
		b = newBucket(rate, max(UserQueryBurst, rate))
		u.buckets[key] = b
	}
	return b.take(now)
}
