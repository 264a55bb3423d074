package server_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/raftfsm"
	"github.com/mongoose-go/mongoose-go/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func start(tb testing.TB, dir string) *server.Server {
	tb.Helper()
	return startServer(tb, server.TestConfig(dir))
}

func put(tb testing.TB, c *http.Client, base, domain string) int {
	req, _ := http.NewRequest("PUT", base+"/domains/"+domain, bytes.NewReader([]byte(`{"host_type":"basic"}`)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestServeDefaultsAndPersistAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	base := "http://" + s.AdminAddrs()[0] + "/api"
	for i := range 20 {
		if code := put(t, http.DefaultClient, base, fmt.Sprintf("tenant%d.example", i)); code != 204 {
			t.Fatalf("PUT: %d", code)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = start(t, dir)
	defer s.Close()
	if n := len(s.Node.Directory().List("basic")); n != 20 {
		t.Fatalf("after restart %d basic domains, want 20", n)
	}
}

// benchDomains creates b.N domains through the REST API with the given number of
// concurrent clients, and reports the rate per minute (MongooseIM's published figure
// is 24,000/min on a three-node cluster).
func benchDomains(b *testing.B, clients int) {
	s := start(b, b.TempDir())
	defer s.Close()
	base := "http://" + s.AdminAddrs()[0] + "/api"
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	c := &http.Client{Transport: tr}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if code := put(b, c, base, fmt.Sprintf("d%d.bench", i)); code != 204 {
					b.Errorf("PUT: %d", code)
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.ReportMetric(float64(b.N)/el.Minutes(), "domains/min")
}

func BenchmarkDomainCreateREST(b *testing.B) {
	for _, clients := range []int{1, 32} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchDomains(b, clients) })
	}
}

// BenchmarkRestart100kDomains measures a node restart holding 100,000 dynamic domains
// (target under 2 s) and the heap the directory costs per domain (target under 1 KB).
// The store is filled directly in one transaction: going through raft would only make
// the set-up slow, the file is the same.
func BenchmarkRestart100kDomains(b *testing.B) {
	const count = 100_000
	dir := b.TempDir()
	s := start(b, dir)
	s.Close()
	db, err := raftfsm.OpenDB(filepath.Join(dir, node.StoreFile), false)
	if err != nil {
		b.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for i := range count {
			ht := "basic"
			m := &store.AddDomain{Name: fmt.Sprintf("tenant-%06d.example.com", i), HostType: ht}
			if _, err := m.Apply(tx); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var total time.Duration
	for range b.N {
		before := heapInUse()
		t0 := time.Now()
		s := start(b, dir)
		total += time.Since(t0)
		if got := s.Node.Directory().Count(); got != count {
			b.Fatalf("loaded %d domains", got)
		}
		after := heapInUse()
		b.ReportMetric(float64(after-before)/count, "heap-bytes/domain")
		s.Close()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/restart")
}
