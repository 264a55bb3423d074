package cmd

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/cmd/apiclient"
	"github.com/mongoose-go/mongoose-go/node/server"
)

func startClusterNode(t *testing.T, name string) (*server.Server, string) {
	t.Helper()
	cfg := server.TestConfig(t.TempDir())
	cfg.Cluster.NodeName = name
	cfg.Cluster.Secret = "cli-test"
	s, err := server.Start(cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return s, "http://" + s.AdminAddrs()[0] + "/api"
}

// Two real nodes in this process: the second joins the first through the CLI, shows
// up in `cluster status` on both, then is removed and leaves.
func TestClusterCommands(t *testing.T) {
	t.Setenv(envAPI, "")
	s1, api1 := startClusterNode(t, "one@localhost")
	s2, api2 := startClusterNode(t, "two@localhost")

	out, err := runCLI(t, "cluster", "join", s1.Node.RaftAddr(), "--api", api2)
	if err != nil || out != "joined the cluster via "+s1.Node.RaftAddr()+"\n" {
		t.Fatalf("join: %v\n%s", err, out)
	}
	var st apiclient.ClusterStatus
	waitCLI(t, "both nodes reachable in cluster status", func() bool {
		out, err := runCLI(t, "cluster", "status", "-o", "json", "--api", api2)
		if err != nil || json.Unmarshal([]byte(out), &st) != nil || len(st.Servers) != 2 {
			return false
		}
		return st.Servers[0].Reachable && st.Servers[1].Reachable && st.Servers[1].AppliedIndex > 0
	})
	if st.Leader != "one@localhost" || st.Node != "two@localhost" {
		t.Fatalf("status %+v", st)
	}
	out, err = runCLI(t, "cluster", "status", "--api", api1)
	for _, want := range []string{"leader:  one@localhost", "NAME", "one@localhost", "two@localhost", s2.Node.RaftAddr(), "voter", "yes"} {
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("status table lacks %q: %v\n%s", want, err, out)
		}
	}
	// A write through the follower's API lands on the leader.
	if out, err := runCLI(t, "domain", "add", "via-two.example", "--host-type", "basic", "--api", api2); err != nil {
		t.Fatalf("write on the follower: %v\n%s", err, out)
	}
	if _, err := s1.Node.Domain("via-two.example"); err != nil {
		t.Fatalf("leader misses the forwarded write: %v", err)
	}

	if _, err := runCLI(t, "cluster", "remove", "ghost", "--api", api1); err == nil || !strings.Contains(err.Error(), `no such node in the cluster: "ghost"`) {
		t.Fatalf("remove unknown: %v", err)
	}
	if _, err := runCLI(t, "cluster", "leave", "--api", api1); err != nil {
		t.Fatalf("leader leaves: %v", err)
	}
	if _, err := runCLI(t, "cluster", "leave", "--api", api2); err == nil || !strings.Contains(err.Error(), "cannot leave") {
		t.Fatalf("last node leaves: %v", err)
	}
	out, err = runCLI(t, "cluster", "remove", "one@localhost", "-o", "json", "--api", api2)
	if err == nil || !strings.Contains(err.Error(), "no such node") {
		t.Fatalf("remove a node that left: %v %s", err, out)
	}
	if _, err := runCLI(t, "cluster", "join", "127.0.0.1:1", "--api", api1); err == nil || !strings.Contains(err.Error(), "could not join the cluster") {
		t.Fatalf("join an unreachable address: %v", err)
	}
}

func waitCLI(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
