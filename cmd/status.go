package cmd

import (
	"strconv"

	"github.com/spf13/cobra"
)

func init() { register(newStatusCmd) }

func newStatusCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "status",
		Short: "Show a running node's raft state and leader through the admin API",
		Args:  cobra.NoArgs,
	}
	o := addAdminFlags(c)
	c.RunE = func(c *cobra.Command, args []string) error {
		cl, err := o.client()
		if err != nil {
			return err
		}
		s, err := cl.Status()
		if err != nil {
			return err
		}
		if o.json() {
			return writeJSON(c.OutOrStdout(), s)
		}
		return writeTable(c.OutOrStdout(), [][]string{
			{"node:", s.Node},
			{"raft state:", s.RaftState},
			{"leader:", s.Leader},
			{"leader address:", s.LeaderAddress},
			{"applied index:", strconv.FormatUint(s.AppliedIndex, 10)},
			{"dynamic domains:", strconv.Itoa(s.DynamicDomains)},
		})
	}
	return c
}
