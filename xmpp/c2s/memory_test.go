package c2s

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
)

// The clients of BenchmarkIdleSessionMemory run in a child process (this test
// binary re-executed into TestHelperMemoryClients), so the parent's heap and
// stacks hold only the server side of each session.
const (
	envMemAddr = "C2S_MEM_CLIENTS_ADDR"
	envMemN    = "C2S_MEM_CLIENTS_N"
	envMemTLS  = "C2S_MEM_CLIENTS_TLS"
)

// TestHelperMemoryClients is not a test: it is the client process of
// BenchmarkIdleSessionMemory and does nothing unless that benchmark starts it.
func TestHelperMemoryClients(t *testing.T) {
	addr := os.Getenv(envMemAddr)
	if addr == "" {
		t.Skip("helper process for BenchmarkIdleSessionMemory")
	}
	n, _ := strconv.Atoi(os.Getenv(envMemN))
	useTLS := os.Getenv(envMemTLS) == "1"
	conns := make([]net.Conn, 0, n)
	for range n {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c := newRawClient(t, conn)
		f := c.open(testDomain)
		if useTLS {
			if !hasFeature(f, "starttls") {
				t.Fatal("no STARTTLS offered")
			}
			// The child has no copy of the certificate; it only needs the
			// connection, not the server's identity.
			c.startTLS(&tls.Config{InsecureSkipVerify: true})
			c.open(testDomain)
		}
		if el := c.authPlain("", "alice", testPassword); el.Local != "success" {
			t.Fatalf("login: %s", el)
		}
		c.open(testDomain)
		c.bind("")
		conns = append(conns, c.conn)
	}
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin) // hold the sessions until the parent is done
	for _, c := range conns {
		c.Close()
	}
}

// serverMem returns heap in use plus goroutine stacks after a full GC.
func serverMem() (heap, stack uint64) {
	runtime.GC()
	runtime.GC() // also empties sync.Pool's victim cache
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.StackInuse
}

// BenchmarkIdleSessionMemory reports the server-side memory of an idle
// authenticated session (bound resource, nothing pending): heap in use plus
// goroutine stacks, averaged over 2000 sessions whose clients live in another
// process. Run with -benchtime=1x; every iteration measures afresh.
func BenchmarkIdleSessionMemory(b *testing.B) {
	const n = 2000
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"tcp", false}, {"starttls", true}} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				heap, stack := measureIdleSessions(b, n, tc.tls)
				b.ReportMetric(float64(heap)/n, "heap-B/session")
				b.ReportMetric(float64(stack)/n, "stack-B/session")
				b.ReportMetric(float64(heap+stack)/n, "B/session")
			}
		})
	}
}

func measureIdleSessions(b *testing.B, n int, useTLS bool) (heap, stack uint64) {
	b.StopTimer()
	defer b.StartTimer()
	opts := []any{func(c *Config) { c.StateTimeout = time.Minute }}
	if !useTLS {
		opts = append(opts, noTLS)
	}
	s := startServer(b, opts...)
	s.acc.set("alice", testDomain, scram.Credentials{Plain: testPassword})
	s.r.maxSessions = n
	h0, s0 := serverMem()

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperMemoryClients$", "-test.count=1")
	cmd.Env = append(os.Environ(), envMemAddr+"="+s.addr, envMemN+"="+strconv.Itoa(n), envMemTLS+"="+map[bool]string{true: "1", false: "0"}[useTLS])
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		if sc.Text() == "READY" {
			ready = true
			break
		}
	}
	if !ready {
		b.Fatal("client process failed")
	}
	go io.Copy(io.Discard, stdout)
	waitFor(b, "all sessions bound", func() bool { return s.r.count() == n })
	h1, s1 := serverMem()
	stdin.Close()
	waitFor(b, "all sessions closed", func() bool { return s.l.NumConns() == 0 })
	return h1 - h0, s1 - s0
}
