package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/loadgen"
	"github.com/mongoose-go/mongoose-go/node/server"
)

// The chat benchmarks run amoc's one-to-one scenario against a whole server in this
// process: c2s without TLS (PLAIN allowed in clear, as on a load listener), accounts
// registered directly on the node with TestConfig's cheap SCRAM iterations, and
// xmpp/loadclient clients on loopback. Clients and server share the machine's cores,
// so the figures are a floor for the server alone.
//
// b.N is the number of messages, spread over all clients; each client sends to its
// neighbours in the same domain with at most `window` of its messages on their way,
// and the round ends when every message has arrived. Metrics: msgs/s (delivered),
// ttd-p50-ms and ttd-p99-ms (amoc's message_ttd), logins/s of the setup.

// BenchmarkChat1000Clients: 1000 users of one domain. window=10 measures throughput
// (ttd is then mostly queueing: about 10,000 messages in flight over the rate);
// window=1 shows delivery time with one message per client in flight.
func BenchmarkChat1000Clients(b *testing.B) {
	for _, w := range []int{10, 1} {
		b.Run(fmt.Sprintf("window=%d", w), func(b *testing.B) { benchChat(b, 1, 1000, w) })
	}
}

// BenchmarkChatOneDomainVsManyDomains: the same 1000 users in one domain, and spread
// over 1000 domains of one user each (each then messages the next users of the list,
// so every message crosses domains).
func BenchmarkChatOneDomainVsManyDomains(b *testing.B) {
	b.Run("domains=1", func(b *testing.B) { benchChat(b, 1, 1000, loadgen.DefaultWindow) })
	b.Run("domains=1000", func(b *testing.B) { benchChat(b, 1000, 1, loadgen.DefaultWindow) })
}

func benchChat(b *testing.B, domains, perDomain, window int) {
	s, err := server.Start(server.TestConfig(b.TempDir()), server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	names := loadgen.DomainNames("bench-", domains)
	accts := loadgen.Accounts(names, perDomain)
	if err := loadgen.Provision(ctx, loadgen.NodeProvisioner{Node: s.Node}, "basic", names, accts, 64); err != nil {
		b.Fatal(err)
	}
	fleet, login := loadgen.Login(ctx, loadgen.LoginConfig{Addr: s.C2SAddrs()[0], Concurrency: 32, Presence: true}, accts)
	defer fleet.Close()
	if login.Failures > 0 {
		b.Fatalf("%d logins failed: %v", login.Failures, login.Errors)
	}

	b.ResetTimer()
	st := fleet.Exchange(ctx, loadgen.ExchangeConfig{Messages: b.N, Window: window})
	b.StopTimer()
	if st.Received != int64(b.N) || st.TimedOut {
		b.Fatalf("sent %d, received %d of %d, bounced %d, timed out %v",
			st.Sent, st.Received, b.N, st.ServiceUnavailable+st.OtherErrors, st.TimedOut)
	}
	if n := fleet.Dropped(); n > 0 {
		b.Fatalf("%d sessions dropped", n)
	}
	b.ReportMetric(st.PerSecond, "msgs/s")
	b.ReportMetric(float64(st.TTD.P50)/1e6, "ttd-p50-ms")
	b.ReportMetric(float64(st.TTD.P99)/1e6, "ttd-p99-ms")
	b.ReportMetric(login.PerSecond, "logins/s")
}
