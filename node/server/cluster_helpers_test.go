package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/server"
)

// startCluster starts n servers on loopback that form one cluster (the first
// bootstraps, the others join it) and waits until every node's mesh reaches all the
// others. modify, when set, adjusts each node's config before it starts.
func startCluster(t *testing.T, prefix string, n int, modify func(*config.Config)) []*server.Server {
	t.Helper()
	var nodes []*server.Server
	for i := range n {
		cfg := server.TestConfig(t.TempDir())
		cfg.Cluster.NodeName = fmt.Sprintf("%s%d@localhost", prefix, i+1)
		cfg.Cluster.Secret = prefix + "-test-secret"
		if i > 0 {
			cfg.Cluster.Join = []string{nodes[0].Node.RaftAddr()}
		}
		if modify != nil {
			modify(cfg)
		}
		s, err := server.Start(cfg, server.Options{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = s.WaitReady(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, s)
	}
	isoWait(t, "the mesh", func() bool {
		for _, s := range nodes {
			if len(s.Mesh().Peers()) != n-1 {
				return false
			}
		}
		return true
	})
	return nodes
}
