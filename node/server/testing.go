package server

import (
	"github.com/mongoose-go/mongoose-go/node/config"
)

// TestConfig returns the embedded defaults adjusted to run beside other nodes on one
// machine: every port picked by the kernel on loopback, data in dir, and cheap SCRAM
// hashing. Tests and benchmarks in several packages use it.
func TestConfig(dir string) *config.Config {
	cfg := config.Default()
	cfg.Cluster.DataDir = dir
	cfg.Cluster.Listen = "127.0.0.1:0"
	cfg.Cluster.NodeName = "mongoose@localhost"
	for i := range cfg.Listen.HTTP {
		cfg.Listen.HTTP[i].IPAddress = "127.0.0.1"
		cfg.Listen.HTTP[i].Port = 0
	}
	for i := range cfg.Listen.C2S {
		cfg.Listen.C2S[i].IPAddress = "127.0.0.1"
		cfg.Listen.C2S[i].Port = 0
		// Tests opt in to TLS; plain TCP lets them use PLAIN and raw bytes.
		cfg.Listen.C2S[i].TLS = nil
		// The default shaper (16 KB/s) would throttle load tests.
		cfg.Listen.C2S[i].Shaper = "none"
	}
	cfg.Auth.Password.ScramIterations = 64
	return cfg
}
