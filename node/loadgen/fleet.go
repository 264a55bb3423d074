package loadgen

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/loadclient"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// LoginConfig says how a fleet's clients connect.
type LoginConfig struct {
	// Addr is the c2s listener's host:port.
	Addr string
	// StartTLS negotiates STARTTLS without verifying the certificate.
	StartTLS bool
	// Mechanism is loadclient's: "" (PLAIN when offered), "PLAIN" or
	// "SCRAM-SHA-256".
	Mechanism string
	// Concurrency is how many logins are in flight; 0 means 1.
	Concurrency int
	// Timeout bounds one login; 0 means loadclient.DefaultTimeout.
	Timeout time.Duration
	// Presence sends initial presence after login, as amoc's scenarios do,
	// so that the session is available for messages to the bare JID.
	Presence bool
}

// LoginStats is what logging a fleet in measured.
type LoginStats struct {
	// Connections is amoc's connections: sessions established.
	Connections int `json:"connections"`
	// Failures is amoc's connection_failures.
	Failures int `json:"connection_failures"`
	// Time is amoc's connection time, per successful login.
	Time      Latency       `json:"connection"`
	Elapsed   time.Duration `json:"-"`
	ElapsedS  float64       `json:"elapsed_s"`
	PerSecond float64       `json:"logins_per_second"`
	// Errors holds up to five distinct failure texts.
	Errors []string `json:"errors,omitempty"`
}

// Fleet is a set of logged-in clients, each with a goroutine reading what
// the server sends it.
type Fleet struct {
	accts   []Account
	members []*member // logged in, in account order

	run     atomic.Int64 // current exchange; stale deliveries are ignored
	ex      atomic.Pointer[exchange]
	readers sync.WaitGroup
	closing atomic.Bool
	dropped atomic.Int64 // sessions the server ended
}

// member is one logged-in account.
type member struct {
	idx  int // in the fleet's accounts
	c    *loadclient.Client
	next []int // neighbours' account indices, in sending order

	mu  sync.Mutex
	ttd []time.Duration // samples of the current exchange, taken by the reader
}

// Login logs every account in with cfg.Concurrency logins in flight. Failed
// logins are counted, not fatal; the fleet holds the rest. The neighbours
// each client will message are fixed here, from the whole account list.
func Login(ctx context.Context, cfg LoginConfig, accts []Account) (*Fleet, LoginStats) {
	f := &Fleet{accts: accts}
	clients := make([]*loadclient.Client, len(accts))
	times := make([]time.Duration, len(accts))
	errs := make([]error, len(accts))
	start := time.Now()
	_ = parallel(ctx, len(accts), max(1, cfg.Concurrency), func(i int) error {
		a := accts[i]
		t := time.Now()
		c, err := loadclient.Dial(ctx, loadclient.Config{
			Addr: cfg.Addr, Domain: a.Domain, User: a.User, Password: a.Password,
			StartTLS: cfg.StartTLS, Mechanism: cfg.Mechanism, Timeout: cfg.Timeout,
		})
		if err == nil && cfg.Presence {
			timeout := cfg.Timeout
			if timeout <= 0 {
				timeout = loadclient.DefaultTimeout
			}
			if err = c.Available(timeout); err != nil {
				c.Close()
			}
		}
		if err != nil {
			errs[i] = err
			return nil
		}
		times[i] = time.Since(t)
		clients[i] = c
		return nil
	})
	var st LoginStats
	st.Elapsed = time.Since(start)
	st.ElapsedS = st.Elapsed.Seconds()
	seen := map[string]bool{}
	var samples []time.Duration
	neighbours := neighbourLists(accts)
	for i, c := range clients {
		if c == nil {
			st.Failures++
			if errs[i] == nil {
				continue // not attempted: the context ended first
			}
			if msg := errs[i].Error(); !seen[msg] && len(st.Errors) < maxErrorSamples {
				seen[msg] = true
				st.Errors = append(st.Errors, msg)
			}
			continue
		}
		st.Connections++
		samples = append(samples, times[i])
		m := &member{idx: i, c: c, next: neighbours[i]}
		f.members = append(f.members, m)
	}
	st.Time = Summarize(samples)
	st.PerSecond = rate(int64(st.Connections), st.Elapsed, time.Second)
	for _, m := range f.members {
		f.readers.Go(func() { f.read(m) })
	}
	return f, st
}

// maxNeighbours is how many different users one client messages, as amoc's
// dynamic_domains_pm does with its bucket neighbours.
const maxNeighbours = 10

// neighbourLists gives each account the next accounts of its own domain
// (wrapping around), at most maxNeighbours of them. An account alone in its
// domain messages the next accounts of the whole list instead, and a single
// account messages itself.
func neighbourLists(accts []Account) [][]int {
	byDomain := map[string][]int{}
	pos := make([]int, len(accts))
	all := make([]int, len(accts))
	for i, a := range accts {
		pos[i] = len(byDomain[a.Domain])
		byDomain[a.Domain] = append(byDomain[a.Domain], i)
		all[i] = i
	}
	out := make([][]int, len(accts))
	for i, a := range accts {
		ring, at := byDomain[a.Domain], pos[i]
		if len(ring) == 1 {
			ring, at = all, i
		}
		k := min(maxNeighbours, len(ring)-1)
		if k == 0 {
			out[i] = []int{i}
			continue
		}
		for j := 1; j <= k; j++ {
			out[i] = append(out[i], ring[(at+j)%len(ring)])
		}
	}
	return out
}

// Len is the number of logged-in clients.
func (f *Fleet) Len() int { return len(f.members) }

// Dropped is how many sessions ended from the server's side (or with a read
// error) before Close.
func (f *Fleet) Dropped() int { return int(f.dropped.Load()) }

// Close ends every session and waits for the readers.
func (f *Fleet) Close() {
	f.closing.Store(true)
	var wg sync.WaitGroup
	for _, m := range f.members {
		wg.Go(func() { m.c.Close() })
	}
	wg.Wait()
	f.readers.Wait()
}

// read handles what the server sends one client until the connection ends.
func (f *Fleet) read(m *member) {
	for {
		el, err := m.c.Next()
		if err != nil {
			if !f.closing.Load() && !errors.Is(err, net.ErrClosed) {
				f.dropped.Add(1)
			}
			return
		}
		switch el.Local {
		case "message":
			f.onMessage(m, el)
		case "iq":
			answerIQ(m.c, el)
		}
	}
}

// onMessage accounts for a chat message of the current exchange, or for its
// bounce.
func (f *Fleet) onMessage(m *member, el *xmlstream.Element) {
	ex := f.ex.Load()
	if ex == nil {
		return
	}
	run, sender, ok := parseID(el.Attr("id"))
	if !ok || run != ex.run {
		return
	}
	if cond := loadclient.ErrorCondition(el); cond != "" {
		if cond == stanza.ServiceUnavailable.Name {
			ex.unavailable.Add(1)
		} else {
			ex.otherErrors.Add(1)
		}
	} else {
		body := el.Child(xmlstream.ClientNamespace, "body")
		sent, ok := parseStamp(body)
		if !ok {
			return
		}
		d := time.Duration(time.Now().UnixNano() - sent)
		m.mu.Lock()
		m.ttd = append(m.ttd, d)
		m.mu.Unlock()
		ex.received.Add(1)
	}
	ex.settle(sender)
}

// answerIQ answers a server's ping and refuses any other request, so the
// server never waits on a load client.
func answerIQ(c *loadclient.Client, iq *xmlstream.Element) {
	switch iq.Attr("type") {
	case "get", "set":
	default:
		return
	}
	if iq.Child(stanza.NSPing, "ping") != nil {
		c.Send(stanza.Result(iq, nil))
		return
	}
	c.Send(stanza.ErrorReply(iq, stanza.ServiceUnavailable, ""))
}
