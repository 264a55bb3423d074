package cmd

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mongoose-go/mongoose-go/node/backup"
)

func init() { register(newRestoreCmd) }

func newRestoreCmd() *cobra.Command {
	var in, dataDir string
	var force, verifyOnly bool
	c := &cobra.Command{
		Use:   "restore --in FILE --data-dir DIR [--force]",
		Short: "Build a data dir from a backup file; the node starts as a one-node cluster",
		Long: `Check a backup file in full (size, checksum, store) and write its store into DIR.
DIR gets no raft state: a node started on it bootstraps a new one-node cluster holding
all the backed-up state; other nodes join it afterwards. A non-empty DIR is refused
unless --force, which replaces its state.db and deletes its raft dir. A corrupt backup
leaves DIR untouched. With --verify-only the file is only checked.
See docs/operations.md.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			start := time.Now()
			if verifyOnly {
				h, err := backup.Verify(in)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(c.OutOrStdout(), "backup %s is intact: %d bytes, node %s, applied index %d (term %d), created %s, %s\n",
					in, h.Size, orUnknown(h.Node), h.AppliedIndex, h.AppliedTerm, h.Created.Format(time.RFC3339), h.Checksum)
				return err
			}
			if dataDir == "" {
				return errors.New("--data-dir is required (or --verify-only)")
			}
			h, err := backup.Restore(in, dataDir, backup.RestoreOptions{Force: force, Progress: progressBar(c, "restore")})
			if errors.Is(err, backup.ErrNotEmpty) {
				return fmt.Errorf("%w (--force replaces its state.db and deletes its raft dir)", err)
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.OutOrStdout(), "restored %s into %s: %d bytes, node %s, applied index %d (term %d), took %s; start the node to bootstrap a one-node cluster\n",
				in, dataDir, h.Size, orUnknown(h.Node), h.AppliedIndex, h.AppliedTerm, since(start))
			return err
		},
	}
	c.Flags().StringVar(&in, "in", "", "backup file to restore")
	c.Flags().StringVar(&dataDir, "data-dir", "", "data dir to build (must be empty or absent unless --force)")
	c.Flags().BoolVar(&force, "force", false, "replace the store of a non-empty data dir and delete its raft dir")
	c.Flags().BoolVar(&verifyOnly, "verify-only", false, "only check the backup file; write nothing")
	_ = c.MarkFlagRequired("in")
	c.MarkFlagsMutuallyExclusive("verify-only", "force")
	c.MarkFlagsMutuallyExclusive("verify-only", "data-dir")
	return c
}
