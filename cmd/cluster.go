package cmd

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func init() { register(newClusterCmd) }

// The cluster commands run against one node's admin API, like MongooseIM's
// mongooseimctl join_cluster / leave_cluster / remove_from_cluster.
func newClusterCmd() *cobra.Command {
	c := groupCommand("cluster", "Show and change cluster membership through a node's admin API")
	o := addAdminFlags(c)
	c.AddCommand(newClusterStatusCmd(o), newClusterJoinCmd(o), newClusterLeaveCmd(o), newClusterRemoveCmd(o))
	return c
}

func newClusterStatusCmd(o *adminOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the leader and every node: address, suffrage, reachability, applied index",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			s, err := cl.ClusterStatus()
			if err != nil {
				return err
			}
			if o.json() {
				return writeJSON(c.OutOrStdout(), s)
			}
			leader := s.Leader
			if leader == "" {
				leader = "(none)"
			}
			rows := [][]string{{"leader:", leader}, {}, {"NAME", "ADDRESS", "SUFFRAGE", "STATE", "REACHABLE", "APPLIED"}}
			for _, sv := range s.Servers {
				state := sv.RaftState
				if state == "" {
					state = "-"
				}
				rows = append(rows, []string{sv.Name, sv.Address, sv.Suffrage, state,
					yesNo(sv.Reachable), strconv.FormatUint(sv.AppliedIndex, 10)})
			}
			return writeTable(c.OutOrStdout(), rows)
		},
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newClusterJoinCmd(o *adminOpts) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "join ADDR[,ADDR...]",
		Short: "Make the node behind --api join the cluster of the member at ADDR (its cluster address)",
		Long: "Make the node behind --api join the cluster of the member at ADDR (host:port of its\n" +
			"cluster port). The node's own state is discarded and replaced by the cluster's, so\n" +
			"this is refused when the node holds data or belongs to a cluster of several nodes,\n" +
			"unless --force is given. A node that left its cluster may join without --force.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			if err := cl.JoinCluster(args[0], force); err != nil {
				return err
			}
			return clusterDone(c, o, clusterResult{Result: "joined", Address: args[0]}, "joined the cluster via %s", args[0])
		},
	}
	c.Flags().BoolVar(&force, "force", false, "discard the node's own data and cluster membership")
	return c
}

func newClusterLeaveCmd(o *adminOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "leave",
		Short: "Make the node behind --api leave its cluster (a leader hands over leadership first)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			if err := cl.LeaveCluster(); err != nil {
				return err
			}
			return clusterDone(c, o, clusterResult{Result: "left"}, "left the cluster")
		},
	}
}

func newClusterRemoveCmd(o *adminOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove another node, typically a dead one, from the cluster",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			if err := cl.RemoveClusterNode(args[0]); err != nil {
				return err
			}
			return clusterDone(c, o, clusterResult{Result: "removed", Node: args[0]}, "removed node %s from the cluster", args[0])
		},
	}
}

// clusterResult is what a membership command prints with -o json.
type clusterResult struct {
	Result  string `json:"result"`
	Node    string `json:"node,omitempty"`
	Address string `json:"address,omitempty"`
}

func clusterDone(c *cobra.Command, o *adminOpts, res clusterResult, format string, args ...any) error {
	if o.json() {
		return writeJSON(c.OutOrStdout(), res)
	}
	_, err := fmt.Fprintf(c.OutOrStdout(), format+"\n", args...)
	return err
}
