package mesh_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
)

// Message delivery between raw clients on the same node and on two nodes of one
// cluster, in this process on loopback (clients and both servers share the cores).
//
// latency: one message in flight; ns/op is the time from writing a message on the
// sender's socket to reading it whole from the recipient's.
// throughput: 16 sender/recipient pairs, 64 messages in flight per pair; b.N is the
// total number of messages; msgs/s is delivered messages per second.

func BenchmarkSameNodeMessage(b *testing.B) { benchMessages(b, false) }

func BenchmarkCrossNodeMessage(b *testing.B) { benchMessages(b, true) }

func benchMessages(b *testing.B, cross bool) {
	c := startCluster(b, 2)
	const dom = "bench.example"
	const pairs = 16
	users := []string{}
	for i := range pairs {
		users = append(users, fmt.Sprintf("s%d", i), fmt.Sprintf("r%d", i))
	}
	c.provision(dom, users...)
	recvNode := c.nodes[0]
	if cross {
		recvNode = c.nodes[1]
	}
	var senders, recipients []*meshtest.Client
	for i := range pairs {
		senders = append(senders, c.login(c.nodes[0], fmt.Sprintf("s%d", i), dom, "r"))
		recipients = append(recipients, c.login(recvNode, fmt.Sprintf("r%d", i), dom, "r"))
	}

	b.Run("latency", func(b *testing.B) {
		s, r := senders[0], recipients[0]
		msg := meshtest.Message(r.JID.String(), "ping")
		b.ResetTimer()
		for range b.N {
			if err := s.Send(msg); err != nil {
				b.Fatal(err)
			}
			select {
			case <-r.In:
			case <-time.After(5 * time.Second):
				b.Fatal("message lost")
			}
		}
	})

	b.Run("throughput", func(b *testing.B) {
		const window = 64
		per := (b.N + pairs - 1) / pairs
		b.ResetTimer()
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, 2*pairs)
		for i := range pairs {
			s, r := senders[i], recipients[i]
			msg := meshtest.Message(r.JID.String(), "throughput")
			credits := make(chan struct{}, window)
			for range window {
				credits <- struct{}{}
			}
			wg.Add(2)
			go func() {
				defer wg.Done()
				for range per {
					<-credits
					if err := s.Send(msg); err != nil {
						errs <- err
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				for range per {
					select {
					case <-r.In:
						credits <- struct{}{}
					case <-time.After(10 * time.Second):
						errs <- fmt.Errorf("%s: messages lost", r.JID)
						return
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
		b.ReportMetric(float64(per*pairs)/elapsed.Seconds(), "msgs/s")
	})
}
