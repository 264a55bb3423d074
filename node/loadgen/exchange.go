package loadgen

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// ExchangeConfig is one round of one-to-one chat within a fleet.
type ExchangeConfig struct {
	// Messages is the total to send, spread evenly over the fleet's clients;
	// each client sends to its neighbours in turn.
	Messages int
	// Window is how many of one client's messages may be on their way at
	// once (sent, neither delivered nor bounced); 0 means DefaultWindow. It
	// keeps a run closed-loop: the rate is what the server delivers, not
	// what the clients can write, and no session's output queue overflows.
	Window int
	// Interval is a pause between one client's messages; 0 means none. With
	// an interval, each client's first message waits a random part of it.
	Interval time.Duration
}

// DefaultWindow is ExchangeConfig.Window's default.
const DefaultWindow = 10

// ExchangeStats is what an exchange measured.
type ExchangeStats struct {
	Sent     int64 `json:"messages_sent"`
	Received int64 `json:"messages_received"`
	// ServiceUnavailable counts messages bounced with <service-unavailable/>
	// (the recipient is offline); OtherErrors any other bounce.
	ServiceUnavailable int64 `json:"service_unavailable"`
	OtherErrors        int64 `json:"other_errors"`
	// SendFailures counts messages that could not be written.
	SendFailures int64 `json:"send_failures"`
	// Lost is sent minus received minus bounced when the exchange ended.
	Lost int64 `json:"lost"`
	// TTD is amoc's message_ttd: from the send time stamped in the body to
	// its arrival.
	TTD       Latency       `json:"message_ttd"`
	Elapsed   time.Duration `json:"-"`
	ElapsedS  float64       `json:"elapsed_s"`
	PerSecond float64       `json:"messages_per_second"`
	// TimedOut is set when the context ended before every message was
	// accounted for.
	TimedOut bool `json:"timed_out"`
}

// exchange is the shared state of one Exchange, read by the fleet's readers.
type exchange struct {
	run     int64
	windows []chan struct{} // by account index; nil for accounts not logged in

	pending                            atomic.Int64
	received, unavailable, otherErrors atomic.Int64
	idle                               chan struct{} // signalled when pending reaches 0
}

// settle accounts for one delivered or bounced message of sender.
func (ex *exchange) settle(sender int) {
	if sender >= 0 && sender < len(ex.windows) && ex.windows[sender] != nil {
		select {
		case <-ex.windows[sender]:
		default:
		}
	}
	if ex.pending.Add(-1) == 0 {
		select {
		case ex.idle <- struct{}{}:
		default: // a signal is already waiting
		}
	}
}

// Exchange sends cfg.Messages chat messages across the fleet and waits until
// each is delivered or bounced, or ctx ends.
func (f *Fleet) Exchange(ctx context.Context, cfg ExchangeConfig) ExchangeStats {
	window := cfg.Window
	if window <= 0 {
		window = DefaultWindow
	}
	ex := &exchange{
		run:     f.run.Add(1),
		windows: make([]chan struct{}, len(f.accts)),
		idle:    make(chan struct{}, 1),
	}
	for _, m := range f.members {
		ex.windows[m.idx] = make(chan struct{}, window)
		m.mu.Lock()
		m.ttd = m.ttd[:0]
		m.mu.Unlock()
	}
	f.ex.Store(ex)

	var st ExchangeStats
	var sent, failed atomic.Int64
	start := time.Now()
	n := len(f.members)
	var wg sync.WaitGroup
	for k, m := range f.members {
		count := 0
		if n > 0 {
			count = cfg.Messages / n
			if k < cfg.Messages%n {
				count++
			}
		}
		if count == 0 {
			continue
		}
		wg.Go(func() {
			s, ok := f.send(ctx, ex, m, count, cfg.Interval)
			sent.Add(s)
			if !ok {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	for ex.pending.Load() > 0 && ctx.Err() == nil {
		select {
		case <-ex.idle:
		case <-ctx.Done():
		}
	}
	st.Elapsed = time.Since(start)
	st.ElapsedS = st.Elapsed.Seconds()
	st.TimedOut = ex.pending.Load() > 0
	st.Sent = sent.Load()
	st.SendFailures = failed.Load()
	st.Received = ex.received.Load()
	st.ServiceUnavailable = ex.unavailable.Load()
	st.OtherErrors = ex.otherErrors.Load()
	st.Lost = st.Sent - st.Received - st.ServiceUnavailable - st.OtherErrors
	st.PerSecond = rate(st.Received, st.Elapsed, time.Second)
	var samples []time.Duration
	for _, m := range f.members {
		m.mu.Lock()
		samples = append(samples, m.ttd...)
		m.mu.Unlock()
	}
	st.TTD = Summarize(samples)
	return st
}

// send sends count messages from m, keeping at most the window in flight.
// It returns how many were written and false if a write failed.
func (f *Fleet) send(ctx context.Context, ex *exchange, m *member, count int, interval time.Duration) (int64, bool) {
	win := ex.windows[m.idx]
	prefix := strconv.FormatInt(ex.run, 10) + "." + strconv.Itoa(m.idx) + "."
	var timer *time.Timer
	if interval > 0 {
		// A random start spreads the clients over the interval instead of
		// having all of them send in the same instant.
		timer = time.NewTimer(rand.N(interval))
		defer timer.Stop()
	}
	var stamp []byte
	for seq := range count {
		if timer != nil {
			if seq > 0 {
				timer.Reset(interval)
			}
			select {
			case <-timer.C:
			case <-ctx.Done():
				return int64(seq), true
			}
		}
		select {
		case win <- struct{}{}:
		case <-ctx.Done():
			return int64(seq), true
		}
		to := f.accts[m.next[seq%len(m.next)]].JID()
		ex.pending.Add(1)
		stamp = strconv.AppendInt(stamp[:0], time.Now().UnixNano(), 10)
		if err := m.c.SendMessage(to, "chat", prefix+strconv.Itoa(seq), string(stamp)); err != nil {
			ex.settle(-1)
			return int64(seq), false
		}
	}
	return int64(count), true
}

// parseID splits a message id "run.sender.seq".
func parseID(id string) (run int64, sender int, ok bool) {
	r, rest, ok1 := strings.Cut(id, ".")
	s, _, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	run, err1 := strconv.ParseInt(r, 10, 64)
	sender, err2 := strconv.Atoi(s)
	return run, sender, err1 == nil && err2 == nil
}

// parseStamp reads the send time (Unix nanoseconds) from a message body.
func parseStamp(body *xmlstream.Element) (int64, bool) {
	if body == nil {
		return 0, false
	}
	t, err := strconv.ParseInt(body.Text(), 10, 64)
	return t, err == nil
}
