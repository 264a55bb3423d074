package cmd

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/mongoose-go/mongoose-go/node/backup"
)

func init() { register(newBackupCmd) }

func newBackupCmd() *cobra.Command {
	var cfgPath, dataDir, nodeName, out string
	c := &cobra.Command{
		Use:   "backup --data-dir DIR --out FILE",
		Short: "Write a stopped node's whole state into one backup file",
		Long: `Copy the store of a stopped node (its state.db: domains, accounts and everything
else) into one file with a header and a sha256 checksum. The node must be stopped: a
running node holds the store's lock and the backup is refused. The file appears under
its name only once complete. See docs/operations.md.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if cfgPath != "" {
				cfg, err := loadConfig(cfgPath)
				if err != nil {
					return err
				}
				if dataDir == "" {
					dataDir = cfg.Cluster.DataDir
				}
				if nodeName == "" {
					nodeName = cfg.Cluster.NodeName
				}
			}
			if dataDir == "" {
				return errors.New("--data-dir (or --config) is required")
			}
			start := time.Now()
			h, err := backup.Write(dataDir, out, backup.Options{
				Node:      nodeName,
				Generator: "mongoose-go " + Version,
				Progress:  progressBar(c, "backup"),
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.OutOrStdout(), "backup %s written: %d bytes, node %s, applied index %d (term %d), %s, took %s\n",
				out, h.Size, orUnknown(h.Node), h.AppliedIndex, h.AppliedTerm, h.Checksum, since(start))
			return err
		},
	}
	c.Flags().StringVar(&dataDir, "data-dir", "", "data dir of the stopped node (default: cluster.data_dir of --config)")
	c.Flags().StringVar(&out, "out", "", "backup file to write")
	c.Flags().StringVar(&cfgPath, "config", "", "the node's TOML config, for its data dir and node name")
	c.Flags().StringVar(&nodeName, "node-name", "", "node name to record (default: from --config, or the raft state of a one-node cluster)")
	_ = c.MarkFlagRequired("out")
	return c
}

// progressThreshold is the store size from which a progress bar is worth drawing.
const progressThreshold = 16 << 20

// progressBar returns a backup Progress callback that draws a byte progress bar on
// stderr for large stores, and nil when stderr is not a terminal (logs and pipes get
// only the summary line).
func progressBar(c *cobra.Command, desc string) func(int64) io.Writer {
	stderr := c.ErrOrStderr()
	if !isTerminal(stderr) {
		return nil
	}
	return func(total int64) io.Writer {
		if total < progressThreshold {
			return nil
		}
		return progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
