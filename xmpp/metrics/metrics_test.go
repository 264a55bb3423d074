package metrics

import (
	"slices"
	"sync"
	"testing"
)

func TestNilSafe(t *testing.T) {
	var c *Counter
	c.Inc()
	c.Add(3)
	var g *Gauge
	g.Inc()
	g.Dec()
	g.Add(5)
	if c.Value() != 0 || g.Value() != 0 {
		t.Fatal("nil metrics report values")
	}
}

func TestVecs(t *testing.T) {
	s := New()
	a := s.AuthFailed.For("a")
	if s.AuthFailed.For("a") != a {
		t.Fatal("For returns a new counter for a known host type")
	}
	a.Inc()
	s.AuthFailed.For("b").Add(2)
	s.Sessions.For("b").Inc()
	s.Sessions.For("b").Inc()
	s.Sessions.For("a").Inc()
	s.Sessions.For("a").Dec()

	var keys []string
	var vals []uint64
	s.AuthFailed.Each(func(ht string, c *Counter) { keys, vals = append(keys, ht), append(vals, c.Value()) })
	if !slices.Equal(keys, []string{"a", "b"}) || !slices.Equal(vals, []uint64{1, 2}) {
		t.Errorf("counters %v %v", keys, vals)
	}
	got := map[string]int64{}
	s.Sessions.Each(func(ht string, g *Gauge) { got[ht] = g.Value() })
	if len(got) != 2 || got["a"] != 0 || got["b"] != 2 {
		t.Errorf("gauges %v", got)
	}
	if Or(nil) == nil || Or(s) != s {
		t.Error("Or")
	}
}

// TestConcurrent is for -race: first use of a host type from many goroutines
// yields one counter that sees every increment.
func TestConcurrent(t *testing.T) {
	var v CounterVec
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				v.For("ht").Inc()
			}
		})
	}
	wg.Wait()
	if n := v.For("ht").Value(); n != 8000 {
		t.Fatalf("count %d, want 8000", n)
	}
}

func BenchmarkCounterInc(b *testing.B) {
	c := New().ElementsIn.For("ht")
	for b.Loop() {
		c.Inc()
	}
}

func BenchmarkVecFor(b *testing.B) {
	s := New()
	s.ElementsIn.For("ht")
	for b.Loop() {
		s.ElementsIn.For("ht").Inc()
	}
}
