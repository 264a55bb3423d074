package c2s

import (
	"net"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
)

// benchLogin logs in once over a fresh connection and closes it.
func benchLogin(b *testing.B, addr, mech string) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	c := newRawClient(b, conn)
	c.login("alice", mech, "")
	conn.Close()
}

func reportLogins(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logins/s")
}

// BenchmarkLoginSCRAM measures complete logins (stream, SASL, restart, bind)
// against credentials stored with 10000 iterations, over plain TCP and with
// STARTTLS and channel binding. The client caches its salted password, so
// the numbers are the server's cost (plus the loopback client's TLS).
func BenchmarkLoginSCRAM(b *testing.B) {
	for _, tc := range []struct {
		name, mech string
		tls        bool
	}{
		{"SCRAM-SHA-256/tcp", "SCRAM-SHA-256", false},
		{"SCRAM-SHA-256-PLUS/starttls", "SCRAM-SHA-256-PLUS", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			opts := []any{}
			if !tc.tls {
				opts = append(opts, noTLS)
			}
			s := startServer(b, opts...)
			s.acc.add(b, "alice", testDomain, testPassword, scram.DefaultIterations)
			s.r.maxSessions = 1 << 30
			benchLogin(b, s.addr, tc.mech) // warm the client's cache
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					benchLogin(b, s.addr, tc.mech)
				}
			})
			reportLogins(b, start)
		})
	}
}

// BenchmarkLoginPLAIN measures PLAIN logins on a listener without TLS, with
// SCRAM-format credentials (the server runs PBKDF2 with 10000 iterations of
// the strongest stored hash per login) and with plain-format passwords.
func BenchmarkLoginPLAIN(b *testing.B) {
	for _, tc := range []struct {
		name  string
		plain bool
	}{{"scram-stored", false}, {"plain-stored", true}} {
		b.Run(tc.name, func(b *testing.B) {
			s := startServer(b, noTLS)
			if tc.plain {
				s.acc.set("alice", testDomain, scram.Credentials{Plain: testPassword})
			} else {
				s.acc.add(b, "alice", testDomain, testPassword, scram.DefaultIterations)
			}
			s.r.maxSessions = 1 << 30
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					benchLogin(b, s.addr, "PLAIN")
				}
			})
			reportLogins(b, start)
		})
	}
}

// BenchmarkStanzaRoundTrip measures one message from a client through the
// router to another client on the same server, with at most 256 in flight
// (an unpaced sender would overflow the receiver's queue by design).
func BenchmarkStanzaRoundTrip(b *testing.B) {
	s := startServer(b, noTLS)
	alice, bob := dial(b, s.addr), dial(b, s.addr)
	alice.login("alice", "PLAIN", "a")
	bj := bob.login("bob", "PLAIN", "b")
	msg := []byte(`<message to='` + bj + `' type='chat' id='x'><body>Hello, this is a typical short chat message.</body></message>`)
	done := make(chan error)
	window := make(chan struct{}, 256)
	go func() {
		for i := 0; i < b.N; i++ {
			if _, err := bob.next(); err != nil {
				done <- err
				return
			}
			<-window
		}
		done <- nil
	}()
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		window <- struct{}{}
		if _, err := alice.conn.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
