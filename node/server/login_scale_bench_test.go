package server_test

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/loadgen"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/loadclient"
)

const (
	// loginUsers accounts take turns, so an account logs in again only after
	// loginUsers other logins: its previous session is long closed by then, and
	// no login replaces (conflicts with) a live session.
	loginUsers = 10_000
	// loginDomains is how many of the 100,000 domains hold those accounts,
	// loginUsers/loginDomains accounts each.
	loginDomains = 10_000
	// loginsPerRound is one round: about 0.5 s at the rates of this machine.
	// Rounds are short so that the two servers alternate often: about half of
	// a login's CPU is the kernel's (a TCP connect and close each), and single
	// rounds vary by 15-25% (interquartile range), so the comparison rests on
	// many of them.
	loginsPerRound = 2_000
	// loginClients is the number of concurrent closed-loop clients, the
	// loadgen's and the chat benchmarks' login concurrency.
	loginClients = 32
	// loginRounds per server, alternating: 30 x 2 rounds is about 30 s. Two
	// identical one-domain servers compared this way came out 0.95-1.05 with
	// 20 rounds each: the median of a side moves by a few % from run to run.
	loginRounds = 30
)

// loginServer is one server with provisioned accounts and no sessions.
type loginServer struct {
	s     *server.Server
	accts []loadgen.Account
}

// startLogin starts a node holding `extra` empty domains (of both host types) besides
// the accounts' `domains` domains, and registers loginUsers accounts spread evenly
// over those.
func startLogin(b *testing.B, domains, extra int) *loginServer {
	s, accts := startProvisioned(b, "login-", domains, extra, loginUsers)
	return &loginServer{s: s, accts: accts}
}

// round runs loginsPerRound closed-loop logins on loginClients clients, each a
// whole loadgen login (TCP connect, stream, SASL with the loadgen's mechanism,
// bind, session) followed by Close, and returns logins/s. It returns once the
// server has torn every session down, so that the next round (of either server)
// does not pay for this one's.
func (l *loginServer) round(b *testing.B) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addr := l.s.C2SAddrs()[0]
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for range loginClients {
		wg.Go(func() {
			for failed.Load() == nil {
				i := next.Add(1) - 1
				if i >= loginsPerRound {
					return
				}
				a := l.accts[i%int64(len(l.accts))]
				c, err := loadclient.Dial(ctx, loadclient.Config{Addr: addr, Domain: a.Domain, User: a.User, Password: a.Password})
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				c.Close()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if p := failed.Load(); p != nil {
		b.Fatal(*p)
	}
	waitFor(b, 30*time.Second, "every session closed", func() bool { return l.s.Router.Count() == 0 })
	return loginsPerRound / elapsed.Seconds()
}

// BenchmarkLoginScaleDomains: closed-loop logins (connect, log in, close) by 32
// concurrent clients, on a node holding one domain (10,000 accounts in it) vs a node
// holding 100,000 domains (10,000 accounts, one in each of 10,000 of them). Both
// servers run in this process, idle while the other is measured; 30 rounds of 2,000
// logins each alternate, and so does which server goes first in a pair. Metrics: median logins/s of each, their ratio (many/one, target
// within 5%), and each side's spread over its rounds (max-min over median, %) and
// interquartile range (over median, %).
func BenchmarkLoginScaleDomains(b *testing.B) {
	one := startLogin(b, 1, 0)
	many := startLogin(b, loginDomains, scaleDomains-loginDomains)
	if n := many.s.Node.Directory().Count(); n != scaleDomains {
		b.Fatalf("%d domains, want %d", n, scaleDomains)
	}
	runtime.GC()
	b.ResetTimer()
	var r1, r2 []float64
	for range b.N {
		for i := range loginRounds {
			// Whatever going first or second in a pair costs falls on both.
			if i%2 == 0 {
				r1 = append(r1, one.round(b))
				r2 = append(r2, many.round(b))
			} else {
				r2 = append(r2, many.round(b))
				r1 = append(r1, one.round(b))
			}
		}
	}
	b.StopTimer()
	reportScaleRatio(b, "logins/s", r1, r2)
	b.ReportMetric(iqr(r1), "one-iqr-%")
	b.ReportMetric(iqr(r2), "100k-iqr-%")
}

// iqr is the interquartile range over the median, in %: with many rounds the
// max-min spread measures the worst disturbance, this the typical round's noise.
func iqr(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return (s[len(s)*3/4] - s[len(s)/4]) / median(xs) * 100
}
