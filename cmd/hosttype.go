package cmd

import (
	"strconv"

	"github.com/spf13/cobra"
)

func init() { register(newHostTypeCmd) }

func newHostTypeCmd() *cobra.Command {
	c := groupCommand("host-type", "Show the configured host types through the admin API")
	o := addAdminFlags(c)
	c.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List host types and how many dynamic domains each holds",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			hts, err := cl.HostTypes()
			if err != nil {
				return err
			}
			if o.json() {
				return writeJSON(c.OutOrStdout(), hts)
			}
			rows := [][]string{{"NAME", "DOMAINS"}}
			for _, h := range hts {
				rows = append(rows, []string{h.Name, strconv.Itoa(h.Domains)})
			}
			return writeTable(c.OutOrStdout(), rows)
		},
	})
	return c
}
