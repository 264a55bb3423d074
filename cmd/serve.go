package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/server"
)

func init() { register(newServeCmd) }

func newServeCmd() *cobra.Command {
	var (
		cfgPath  string
		dataDir  string
		nodeName string
		listen   string
		join     []string
	)
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run a node (embedded defaults without --config)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			if dataDir != "" {
				cfg.Cluster.DataDir = dataDir
			}
			if nodeName != "" {
				cfg.Cluster.NodeName = nodeName
			}
			if listen != "" {
				cfg.Cluster.Listen = listen
			}
			if len(join) > 0 {
				cfg.Cluster.Join = join
			}
			log := newLogger(cfg)
			slog.SetDefault(log)
			srv, err := server.Start(cfg, server.Options{Logger: log, Version: Version})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			readyCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			if err := srv.WaitReady(readyCtx); err != nil {
				log.Warn("no cluster leader yet; writes wait for one", "err", err)
			}
			cancel()
			log.Info("mongoose-go serving", "node", cfg.Cluster.NodeName, "data_dir", cfg.Cluster.DataDir,
				"admin_api", srv.AdminAddrs(), "version", Version)
			<-ctx.Done()
			log.Info("shutting down")
			return srv.Close()
		},
	}
	c.Flags().StringVar(&cfgPath, "config", "", "TOML config file (MongooseIM format); embedded defaults when empty")
	c.Flags().StringVar(&dataDir, "data-dir", "", "override cluster.data_dir")
	c.Flags().StringVar(&nodeName, "node-name", "", "override cluster.node_name")
	c.Flags().StringVar(&listen, "cluster-listen", "", "override cluster.listen (host:port)")
	c.Flags().StringSliceVar(&join, "join", nil, "override cluster.join: members' cluster addresses (host:port,...) to join when the data dir holds no raft state")
	return c
}

// loadConfig reads a config file, printing its warnings, or returns the embedded
// defaults when path is empty.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	cfg, problems, err := config.Load(path)
	for _, p := range problems {
		if p.Severity == config.Warning {
			fmt.Fprintln(os.Stderr, p.String())
		}
	}
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

func newLogger(cfg *config.Config) *slog.Logger {
	level, enabled := cfg.General.LogLevel()
	if !enabled {
		level = slog.LevelError + 4
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
