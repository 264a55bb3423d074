// Package batch is group commit for hot write paths (offline messages, later MAM):
// many callers submit one record each, a single goroutine gathers them into batches
// of at most Max records or whatever arrived within Interval of the first, and hands
// each batch to a flush function (typically one raft entry). Every caller waits for
// the outcome of its own record, so a record is durable when Submit returns nil.
//
// One batch is in flight at a time: while it commits, the next one fills up, which is
// what turns many small fsyncs into one.
package batch

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("batch: closed")

// Flush writes a batch. It returns nil when every record succeeded, or a slice of
// len(items) with each record's error (nil entries succeeded).
type Flush[T any] func(items []T) []error

// Batcher gathers records into batches. It is safe for concurrent use.
type Batcher[T any] struct {
	max      int
	interval time.Duration
	flush    Flush[T]
	in       chan request[T]

	mu     sync.RWMutex // guards closed against sends on a closed channel
	closed bool
	done   chan struct{}
}

type request[T any] struct {
	item T
	res  chan error
}

// New starts a batcher. max <= 0 means 256; interval <= 0 means 5ms.
func New[T any](max int, interval time.Duration, flush Flush[T]) *Batcher[T] {
	if max <= 0 {
		max = 256
	}
	if interval <= 0 {
		interval = 5 * time.Millisecond
	}
	b := &Batcher[T]{max: max, interval: interval, flush: flush,
		in: make(chan request[T], max), done: make(chan struct{})}
	go b.loop()
	return b
}

// Submit adds item to the next batch and waits until that batch is flushed. ctx only
// bounds the wait: a record already handed over may still be written after ctx ends.
func (b *Batcher[T]) Submit(ctx context.Context, item T) error {
	return b.Enqueue(ctx, item)(ctx)
}

// Enqueue hands item over to the next batch and returns at once; the returned func
// waits for the batch's outcome as Submit does. A caller with other work to do before
// it needs the outcome (mod_mam routes the message while the sender's copy commits,
// so both copies share one batch) enqueues first and waits last. ctx bounds the
// hand-over; the wait is bounded by the ctx given to it. Call wait once.
func (b *Batcher[T]) Enqueue(ctx context.Context, item T) (wait func(ctx context.Context) error) {
	req := request[T]{item: item, res: make(chan error, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return failed(ErrClosed)
	}
	select {
	case b.in <- req:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return failed(ctx.Err())
	}
	return func(ctx context.Context) error {
		select {
		case err := <-req.res:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func failed(err error) func(context.Context) error {
	return func(context.Context) error { return err }
}

// Close flushes what was submitted and stops the batcher; Submit then fails with
// ErrClosed. It waits for the last flush.
func (b *Batcher[T]) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.in)
	}
	b.mu.Unlock()
	<-b.done
}

func (b *Batcher[T]) loop() {
	defer close(b.done)
	reqs := make([]request[T], 0, b.max)
	timer := time.NewTimer(b.interval)
	timer.Stop()
	for {
		first, ok := <-b.in
		if !ok {
			return
		}
		reqs = append(reqs[:0], first)
		timer.Reset(b.interval)
		open := true
	gather:
		for len(reqs) < b.max {
			select {
			case r, ok := <-b.in:
				if !ok {
					open = false
					break gather
				}
				reqs = append(reqs, r)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		b.run(reqs)
		if !open {
			return
		}
	}
}

func (b *Batcher[T]) run(reqs []request[T]) {
	items := make([]T, len(reqs))
	for i, r := range reqs {
		items[i] = r.item
	}
	errs := b.flush(items)
	for i, r := range reqs {
		var err error
		if errs != nil {
			err = errs[i]
		}
		r.res <- err
	}
}
