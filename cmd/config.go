package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mongoose-go/mongoose-go/node/config"
)

func init() { register(newConfigCmd) }

func newConfigCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "config",
		Short: "Inspect configuration files",
	}
	c.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Print every problem in a config file; exit non-zero on errors",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			probs, err := config.Check(args[0])
			for _, p := range probs {
				fmt.Fprintln(c.OutOrStdout(), p.String())
			}
			if err != nil {
				if len(probs.Errors()) > 0 {
					return fmt.Errorf("%s: %d error(s)", args[0], len(probs.Errors()))
				}
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: ok (%d warning(s))\n", args[0], len(probs.Warnings()))
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "default",
		Short: "Print the embedded default configuration",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := c.OutOrStdout().Write(config.DefaultTOML())
			return err
		},
	})
	return c
}
