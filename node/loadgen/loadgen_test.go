package loadgen

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestAccountsAndNeighbours(t *testing.T) {
	accts := Accounts(DomainNames("d", 2), 3)
	if len(accts) != 6 || accts[0] != (Account{"d1", "user_1", "password_1"}) || accts[5].JID() != "user_3@d2" {
		t.Fatalf("accounts: %v", accts)
	}
	got := neighbourLists(accts)
	// Within the domain, wrapping around.
	if !slices.Equal(got[0], []int{1, 2}) || !slices.Equal(got[2], []int{0, 1}) || !slices.Equal(got[4], []int{5, 3}) {
		t.Errorf("same-domain neighbours: %v", got)
	}
	// Alone in its domain: the next accounts of the whole list.
	solo := Accounts(DomainNames("s", 3), 1)
	if got := neighbourLists(solo); !slices.Equal(got[2], []int{0, 1}) {
		t.Errorf("one user per domain: %v", got)
	}
	if got := neighbourLists(solo[:1]); !slices.Equal(got[0], []int{0}) {
		t.Errorf("single account: %v", got)
	}
	// At most ten.
	if got := neighbourLists(Accounts([]string{"big"}, 15)); len(got[14]) != maxNeighbours || got[14][0] != 0 {
		t.Errorf("large domain: %v", got[14])
	}
}

func TestSummarize(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	l := Summarize(s)
	want := Latency{Count: 100, Mean: 50500 * time.Microsecond, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if l != want {
		t.Errorf("got %+v, want %+v", l, want)
	}
	if l := Summarize([]time.Duration{7}); l.P50 != 7 || l.P99 != 7 {
		t.Errorf("one sample: %+v", l)
	}
	if (Summarize(nil) != Latency{}) {
		t.Error("no samples")
	}
}

func TestParallelStopsAtFirstError(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int64
	err := parallel(context.Background(), 100, 1, func(i int) error {
		calls.Add(1)
		if i == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls.Load() != 4 {
		t.Errorf("err %v after %d calls, want boom after 4", err, calls.Load())
	}
	if err := parallel(context.Background(), 50, 8, func(int) error { calls.Add(1); return nil }); err != nil {
		t.Error(err)
	}
}

func TestParseID(t *testing.T) {
	for _, c := range []struct {
		id     string
		run    int64
		sender int
		ok     bool
	}{
		{"3.17.42", 3, 17, true},
		{"3.17", 0, 0, false},
		{"bind_1", 0, 0, false},
		{"x.1.2", 0, 0, false},
	} {
		run, sender, ok := parseID(c.id)
		if ok != c.ok || (ok && (run != c.run || sender != c.sender)) {
			t.Errorf("parseID(%q) = %d, %d, %v", c.id, run, sender, ok)
		}
	}
	if got := fmt.Sprint(rate(30, 2*time.Second, time.Second)); got != "15" {
		t.Errorf("rate: %s", got)
	}
}
