package node

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/raftfsm"
	"github.com/mongoose-go/mongoose-go/store"
)

// BenchmarkFailover measures how long writes stop when the leader of a three-node
// cluster dies: from the kill to the first write accepted by a survivor (the write
// itself waits out the election). The default timings are production's.
func BenchmarkFailover(b *testing.B) {
	for _, tc := range []struct {
		name string
		tune RaftTuning
	}{
		{"default-timeouts", RaftTuning{}},
		{"test-timeouts", testRaftTuning()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := &testCluster{t: b, secret: "s", tune: tc.tune}
			c.grow(3)
			var total time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				l := c.WaitForLeader()
				c.waitConverged()
				b.StartTimer()
				c.Kill(l)
				start := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := c.live()[0].n.AddDomain(ctx, fmt.Sprintf("fo%d.example", i), "basic")
				cancel()
				total += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				c.Restart(l)
				b.StartTimer()
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/failover")
		})
	}
}

const benchDomains = 100_000

// BenchmarkJoin100kDomains measures the time for a new node to join a cluster holding
// 100,000 domains: from Open with --join to the node's directory holding them all. The
// state reaches the joiner by snapshot either way; it is built two ways: as a restored
// store (the leader bootstraps from it) and through the raft log of the running leader.
func BenchmarkJoin100kDomains(b *testing.B) {
	b.Run("restored-store", func(b *testing.B) {
		dir := b.TempDir()
		writeDomainsStore(b, filepath.Join(dir, StoreFile), benchDomains)
		c := &testCluster{t: b, secret: "s"}
		first, err := c.start("n1", dir, "127.0.0.1:0", nil)
		if err != nil {
			b.Fatal(err)
		}
		c.members = append(c.members, first)
		c.WaitForLeader()
		benchJoin(b, c, first)
	})
	b.Run("through-raft", func(b *testing.B) {
		c := &testCluster{t: b, secret: "s"}
		c.grow(1)
		first := c.members[0]
		start := time.Now()
		fillThroughRaft(b, first.n, benchDomains)
		fill := time.Since(start)
		if err := first.n.raftp.Load().Snapshot().Error(); err != nil {
			b.Fatal(err)
		}
		benchJoin(b, c, first)
		// After the loop: ResetTimer drops metrics reported before it.
		b.ReportMetric(float64(benchDomains)/fill.Seconds(), "fill-domains/s")
	})
}

func benchJoin(b *testing.B, c *testCluster, first *member) {
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("j%d", i)
		m, err := c.start(name, b.TempDir(), "127.0.0.1:0", []string{first.addr})
		if err != nil {
			b.Fatal(err)
		}
		waitUntil(b, 120*time.Second, "the joiner to hold every domain", func() bool {
			return m.n.Directory().Count() == benchDomains
		})
		b.StopTimer()
		m.n.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := first.n.RemoveNode(ctx, name); err != nil {
			b.Fatal(err)
		}
		cancel()
		b.StartTimer()
	}
}

// writeDomainsStore builds a store file holding n domains and no raft state, as
// `restore` leaves a data dir.
func writeDomainsStore(b *testing.B, path string, n int) {
	db, err := raftfsm.OpenDB(path, false)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error {
		for i := range n {
			if _, err := (&store.AddDomain{Name: fmt.Sprintf("d%06d.example", i), HostType: "basic"}).Apply(tx); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
}

// fillThroughRaft proposes n AddDomain entries on the leader, many in flight at once so
// raft batches them (one FSM transaction per batch).
func fillThroughRaft(b *testing.B, n *Node, count int) {
	r := n.raftp.Load()
	const window = 4096
	futures := make([]raft.ApplyFuture, 0, window)
	flush := func() {
		for _, f := range futures {
			if err := f.Error(); err != nil {
				b.Fatal(err)
			}
			if res := f.Response().(raftfsm.Result); res.Err != nil {
				b.Fatal(res.Err)
			}
		}
		futures = futures[:0]
	}
	for i := range count {
		data, err := raftfsm.Encode(&store.AddDomain{Name: fmt.Sprintf("d%06d.example", i), HostType: "basic"})
		if err != nil {
			b.Fatal(err)
		}
		futures = append(futures, r.Apply(data, 30*time.Second))
		if len(futures) == window {
			flush()
		}
	}
	flush()
}
