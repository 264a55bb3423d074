package mam

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestIDsIncreaseAndEncode(t *testing.T) {
	g := NewIDs(7)
	now := time.Unix(1700000000, 123456000)
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for range 1000 {
				id := g.Next(now) // the same microsecond every time: ids must still differ
				if id <= last || id&0xFF != 7 {
					t.Errorf("id %d after %d", id, last)
					return
				}
				last = id
				mu.Lock()
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 8000 {
		t.Fatalf("%d distinct ids", len(seen))
	}
	id := g.Next(now)
	if !IDTime(id).After(now) {
		t.Errorf("collisions move time forward: %v", IDTime(id))
	}
	// MongooseIM's external form: base 32, digits 0-9A-V.
	if got := EncodeID(1<<8 | 5); got != "85" {
		t.Errorf("EncodeID = %s", got)
	}
	if got := EncodeID(31); got != "V" {
		t.Errorf("EncodeID(31) = %s", got)
	}
	for _, s := range []string{EncodeID(id), "v", "BO7CH1JOF801"} {
		if _, err := DecodeID(s); err != nil {
			t.Errorf("DecodeID(%s): %v", s, err)
		}
	}
	for _, s := range []string{"", "W", "-1", "+1", "!!", "8000000000000"} {
		if _, err := DecodeID(s); !errors.Is(err, ErrBadID) {
			t.Errorf("DecodeID(%q) accepted", s)
		}
	}
	if NodeNumber("a@host") == NodeNumber("b@host") && NodeNumber("a@host") == NodeNumber("c@host") {
		t.Error("node numbers do not spread")
	}
}
