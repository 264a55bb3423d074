package server_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
)

// BenchmarkMAMArchiveWrites: concurrent writers archive messages through mod_mam's
// batching queue on a whole single-node server (raft, bbolt with fsync); each write
// returns once committed, as on the send path.
func BenchmarkMAMArchiveWrites(b *testing.B) {
	for _, writers := range []int{64, 512} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, err := server.Start(mamConfig(b.TempDir()), server.Options{Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.WaitReady(ctx); err != nil {
				b.Fatal(err)
			}
			api := "http://" + s.AdminAddrs()[0] + "/api"
			if code := restB(b, "PUT", api+"/domains/mambench.example", `{"host_type":"advanced"}`); code/100 != 2 {
				b.Fatalf("add domain: %d", code)
			}
			var owners []jid.JID
			for i := range 100 {
				owners = append(owners, jid.MustParse(fmt.Sprintf("u%d@mambench.example", i)))
			}
			with := jid.MustParse("peer@mambench.example")
			var n atomic.Int64
			b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, err := s.MAM.Archive(ctx, owners[i%int64(len(owners))], with, offlineMessage("x@mambench.example", i)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

func restB(b *testing.B, method, url, body string) int {
	b.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
