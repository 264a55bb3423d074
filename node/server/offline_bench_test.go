package server_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/loadgen"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// The offline benchmarks run a whole single-node server (raft, bbolt with fsync) in
// this process. Messages are injected with Router.Deliver from many goroutines, as
// c2s sessions would route them, to accounts without a session: each Deliver returns
// once mod_offline's batcher has committed its message.

func offlineBenchServer(b *testing.B, users int) (*server.Server, []loadgen.Account) {
	cfg := server.TestConfig(b.TempDir())
	cfg.Access["max_user_offline_messages"] = []config.AccessClause{{ACL: "all", Value: "100000000"}}
	s, _ := serve(b, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := []string{"offbench.example"}
	accts := loadgen.Accounts(names, users)
	if err := loadgen.Provision(ctx, loadgen.NodeProvisioner{Node: s.Node}, "basic", names, accts, 16); err != nil {
		b.Fatal(err)
	}
	return s, accts
}

func offlineMessage(to string, i int64) *xmlstream.Element {
	el := xmlstream.NewElement("jabber:client", "message",
		xmlstream.Attr{Local: "from", Value: "sender@offbench.example/r"},
		xmlstream.Attr{Local: "to", Value: to},
		xmlstream.Attr{Local: "type", Value: "chat"})
	body := xmlstream.NewElement("jabber:client", "body")
	body.AddText(fmt.Sprint("message ", i))
	el.AddChild(body)
	return el
}

// BenchmarkOfflineStore: concurrent senders to 100 offline users; each message is
// committed (one raft entry per batch) before its sender continues, so the rate grows
// with the number of senders until batches fill up.
func BenchmarkOfflineStore(b *testing.B) {
	for _, senders := range []int{64, 256} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			s, accts := offlineBenchServer(b, 100)
			var n atomic.Int64
			// SetParallelism multiplies GOMAXPROCS.
			b.SetParallelism(max(1, senders/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if err := s.Router.Deliver(offlineMessage(accts[i%int64(len(accts))].JID(), i)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// BenchmarkOfflineDeliver: b.N stored messages over 10 users, delivered on each
// user's initial presence over a real socket (login included) and deleted.
func BenchmarkOfflineDeliver(b *testing.B) {
	s, accts := offlineBenchServer(b, 10)
	per := make([]int, len(accts))
	done := make(chan struct{})
	var n atomic.Int64
	sem := make(chan struct{}, 64)
	for i := 0; i < b.N; i++ {
		per[i%len(accts)]++
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			k := n.Add(1)
			if err := s.Router.Deliver(offlineMessage(accts[i%len(accts)].JID(), k)); err != nil {
				b.Error(err)
			}
			if k == int64(b.N) {
				close(done)
			}
		}()
	}
	<-done
	for range cap(sem) {
		sem <- struct{}{}
	}
	b.ResetTimer()
	start := time.Now()
	for i, a := range accts {
		c, err := meshtest.Login(s.C2SAddrs()[0], a.User, a.Domain, a.Password, "r")
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Send(`<presence/>`); err != nil {
			b.Fatal(err)
		}
		for range per[i] {
			if _, err := c.Expect(30*time.Second, meshtest.Named("message")); err != nil {
				b.Fatal(err)
			}
		}
		c.Close()
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
