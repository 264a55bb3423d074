package batch

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Many concurrent callers end up in few batches, none larger than max, and each
// caller gets its own record's outcome.
func TestBatchesAndPerRecordErrors(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	seen := map[int]bool{}
	errOdd := errors.New("odd")
	// The first flush blocks until the channel behind it is full, so the rest must
	// gather into batches while it is in flight.
	release := make(chan struct{})
	first := true
	b := New(16, time.Hour, func(items []int) []error {
		mu.Lock()
		wait := first
		first = false
		mu.Unlock()
		if wait {
			<-release
		}
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(items))
		errs := make([]error, len(items))
		for i, v := range items {
			seen[v] = true
			if v%2 == 1 {
				errs[i] = errOdd
			}
		}
		return errs
	})
	defer b.Close()
	const n = 100
	var wg sync.WaitGroup
	var handed atomic.Int32
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			wait := b.Enqueue(ctx, i) // Submit, split so the test knows it was handed over
			handed.Add(1)
			results[i] = wait(ctx)
		}()
	}
	// 16 records in the blocked flush plus 16 in the channel's buffer.
	waitFor(t, func() bool { return handed.Load() >= 32 })
	close(release)
	// With an hour's interval, only a full batch (16) flushes: 100 = 6*16 + 4, and
	// the last 4 wait for Close, which must come only after every record was
	// handed over (else a late caller rightly gets ErrClosed).
	waitFor(t, func() bool { return handed.Load() == n })
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) >= 96 })
	b.Close()
	wg.Wait()
	for i, err := range results {
		if (i%2 == 1) != errors.Is(err, errOdd) {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	total := 0
	for _, s := range sizes {
		if s > 16 {
			t.Fatalf("batch of %d > max", s)
		}
		total += s
	}
	if total != n || len(seen) != n {
		t.Fatalf("flushed %d records (%d distinct) in %v", total, len(seen), sizes)
	}
	if len(sizes) > 10 {
		t.Fatalf("%d batches for %d records: %v", len(sizes), n, sizes)
	}
	if err := b.Submit(context.Background(), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
}

// A lone record is flushed after the interval, without waiting for a full batch.
func TestIntervalFlush(t *testing.T) {
	b := New(1000, time.Millisecond, func(items []string) []error { return nil })
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Submit(ctx, "x"); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestEnqueueThenWait: records enqueued one after the other, before anyone waits,
// share a batch; each wait gets its own record's outcome.
func TestEnqueueThenWait(t *testing.T) {
	var mu sync.Mutex
	var batches [][]string
	b := New(100, 50*time.Millisecond, func(items []string) []error {
		mu.Lock()
		batches = append(batches, slices.Clone(items))
		mu.Unlock()
		errs := make([]error, len(items))
		for i, it := range items {
			if it == "bad" {
				errs[i] = errors.New("refused")
			}
		}
		return errs
	})
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w1 := b.Enqueue(ctx, "ok")
	w2 := b.Enqueue(ctx, "bad")
	if err := w1(ctx); err != nil {
		t.Errorf("first record: %v", err)
	}
	if err := w2(ctx); err == nil {
		t.Error("second record: no error")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(batches) != 1 || len(batches[0]) != 2 {
		t.Errorf("batches = %v, want one of two records", batches)
	}
	b.Close()
	if err := b.Enqueue(ctx, "late")(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}
