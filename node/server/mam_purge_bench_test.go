package server_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
)

// envPurgeMessages sets the archive size of BenchmarkDomainRemovalLargeArchive; the
// default keeps `make bench` cheap, and the figure is
// PURGE_BENCH_MESSAGES=1000000.
const envPurgeMessages = "PURGE_BENCH_MESSAGES"

// purgeMessages is the archive size: $PURGE_BENCH_MESSAGES, a positive multiple of
// the 100 accounts, or 200,000.
func purgeMessages(b *testing.B) int {
	v := os.Getenv(envPurgeMessages)
	if v == "" {
		return 200_000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n%100 != 0 {
		b.Fatalf("%s=%q: want a positive multiple of 100", envPurgeMessages, v)
	}
	return n
}

// BenchmarkDomainRemovalLargeArchive: while a domain whose archive holds 200,000
// messages (100 accounts, written straight as ArchiveMessages entries of 5,000; set
// PURGE_BENCH_MESSAGES for another size) is removed, another tenant keeps writing, one
// operation at a time, alternating a domain add with the archiving of one message
// through mod_mam's batching queue (the write a one-to-one message costs). The
// benchmark reports the latency of both during the purge (p50, p99, max) next to the
// same operations before it, how long the purge took, and how long the fill took. The
// purge deletes in bounded chunks (PurgeDomain's Limit), so other writes wait for at
// most one chunk. Run with -benchtime 1x: one cycle fills the whole archive.
func BenchmarkDomainRemovalLargeArchive(b *testing.B) {
	const users, batch = 100, 5000
	perUser := purgeMessages(b) / users
	for i := 0; i < b.N; i++ {
		// mamConfig adds the "advanced" host type with mod_mam for the other tenant.
		s, err := server.Start(mamConfig(b.TempDir()), server.Options{Logger: quiet})
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
		if err := s.Node.AddDomain(ctx, "other.example", "advanced"); err != nil {
			b.Fatal(err)
		}
		body := `<message xmlns="jabber:client" type="chat" from="u@big.example/r" to="v@big.example"><body>` +
			"a typical message body of some sixty bytes, give or take...." + `</body></message>`
		id := uint64(time.Now().UnixMicro()) << 8
		recs := make([]store.ArchiveRecord, 0, batch)
		fillStart := time.Now()
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
		if len(recs) > 0 {
			if _, err := s.Node.Apply(ctx, &store.ArchiveMessages{Records: recs}); err != nil {
				b.Fatal(err)
			}
		}
		fill := time.Since(fillStart)
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
		owner, peer := jid.MustParse("alice@other.example"), jid.MustParse("bob@other.example")
		archive := func() time.Duration {
			t0 := time.Now()
			if _, err := s.MAM.Archive(ctx, owner, peer, offlineMessage(owner.String(), int64(n))); err != nil {
				b.Fatal(err)
			}
			return time.Since(t0)
		}
		var before, during, archBefore, archDuring []time.Duration
		for range 200 {
			before = append(before, add())
			archBefore = append(archBefore, archive())
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
			archDuring = append(archDuring, archive())
		}
		purge := time.Since(t0)
		b.StopTimer()
		cancel()
		s.Close()
		pct := func(d []time.Duration, p float64) float64 {
			slices.Sort(d)
			return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
		}
		b.ReportMetric(fill.Seconds(), "fill-s")
		b.ReportMetric(purge.Seconds(), "purge-s")
		b.ReportMetric(float64(len(during)), "adds-during")
		b.ReportMetric(pct(before, 0.5), "idle-p50-ms")
		b.ReportMetric(pct(before, 0.99), "idle-p99-ms")
		b.ReportMetric(pct(before, 1), "idle-max-ms")
		b.ReportMetric(pct(during, 0.5), "purge-p50-ms")
		b.ReportMetric(pct(during, 0.99), "purge-p99-ms")
		b.ReportMetric(pct(during, 1), "purge-max-ms")
		b.ReportMetric(pct(archBefore, 0.5), "mam-idle-p50-ms")
		b.ReportMetric(pct(archBefore, 0.99), "mam-idle-p99-ms")
		b.ReportMetric(pct(archDuring, 0.5), "mam-purge-p50-ms")
		b.ReportMetric(pct(archDuring, 0.99), "mam-purge-p99-ms")
		b.ReportMetric(pct(archDuring, 1), "mam-purge-max-ms")
	}
}
