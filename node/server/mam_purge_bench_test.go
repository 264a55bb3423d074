package server_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/store"
)

// BenchmarkDomainRemovalLargeArchive: while a domain whose archive holds 200,000
// messages (100 accounts x 2,000, written straight as ArchiveMessages entries) is
// removed, another tenant keeps adding domains; the benchmark reports the latency of
// those adds during the purge (p50, p99, max) next to the same adds before it, and how
// long the purge took. The purge deletes in bounded chunks (PurgeDomain's Limit), so
// other writes wait for at most one chunk. Run with -benchtime 1x: one cycle fills
// 200,000 messages.
func BenchmarkDomainRemovalLargeArchive(b *testing.B) {
	const users, perUser, batch = 100, 2000, 5000
	for i := 0; i < b.N; i++ {
		s, err := server.Start(server.TestConfig(b.TempDir()), server.Options{Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		if err := s.WaitReady(ctx); err != nil {
			b.Fatal(err)
		}
		if err := s.Node.AddDomain(ctx, "big.example", "basic"); err != nil {
			b.Fatal(err)
		}
		body := `<message xmlns="jabber:client" type="chat" from="u@big.example/r" to="v@big.example"><body>` +
			"a typical message body of some sixty bytes, give or take...." + `</body></message>`
		id := uint64(time.Now().UnixMicro()) << 8
		recs := make([]store.ArchiveRecord, 0, batch)
		for u := range users {
			for m := range perUser {
				id++
				recs = append(recs, store.ArchiveRecord{Domain: "big.example", User: fmt.Sprintf("u%d", u), ID: id,
					With: fmt.Sprintf("peer%d@big.example", m%10), XML: body})
				if len(recs) == batch {
					if _, err := s.Node.Apply(ctx, &store.ArchiveMessages{Records: recs}); err != nil {
						b.Fatal(err)
					}
					recs = recs[:0]
				}
			}
		}
		var filled int
		_ = s.Node.View(func(tx *bolt.Tx) error {
			for u := range users {
				filled += store.ArchiveCount(tx, "big.example", fmt.Sprintf("u%d", u), "")
			}
			return nil
		})
		if filled != users*perUser {
			b.Fatalf("archive holds %d messages", filled)
		}
		n := 0
		add := func() time.Duration {
			n++
			t0 := time.Now()
			if err := s.Node.AddDomain(ctx, fmt.Sprintf("t%d-%d.example", i, n), "basic"); err != nil {
				b.Fatal(err)
			}
			return time.Since(t0)
		}
		var before, during []time.Duration
		for range 200 {
			before = append(before, add())
		}
		b.ResetTimer()
		t0 := time.Now()
		if err := s.Node.RemoveDomain(ctx, "big.example", "basic", true); err != nil {
			b.Fatal(err)
		}
		for {
			var exists bool
			_ = s.Node.View(func(tx *bolt.Tx) error { _, exists = store.GetDomain(tx, "big.example"); return nil })
			if !exists && len(during) > 0 {
				break
			}
			during = append(during, add())
		}
		purge := time.Since(t0)
		b.StopTimer()
		cancel()
		s.Close()
		pct := func(d []time.Duration, p float64) float64 {
			slices.Sort(d)
			return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
		}
		b.ReportMetric(purge.Seconds(), "purge-s")
		b.ReportMetric(float64(len(during)), "adds-during")
		b.ReportMetric(pct(before, 0.5), "idle-p50-ms")
		b.ReportMetric(pct(before, 0.99), "idle-p99-ms")
		b.ReportMetric(pct(during, 0.5), "purge-p50-ms")
		b.ReportMetric(pct(during, 0.99), "purge-p99-ms")
		b.ReportMetric(pct(during, 1), "purge-max-ms")
	}
}
