package cmd

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mongoose-go/mongoose-go/cmd/apiclient"
)

func init() { register(newDomainCmd) }

func newDomainCmd() *cobra.Command {
	c := groupCommand("domain", "Manage dynamic domains through the admin API")
	o := addAdminFlags(c)
	c.AddCommand(
		newDomainAddCmd(o),
		newDomainRemoveCmd(o),
		domainToggleCmd(o, "enable", "Enable a disabled domain", "enabled"),
		domainToggleCmd(o, "disable", "Disable a domain: its sessions close, new streams are refused", "disabled"),
		newDomainShowCmd(o),
		newDomainListCmd(o),
		newDomainSetPasswordCmd(o),
		newDomainDeletePasswordCmd(o),
	)
	return c
}

func newDomainAddCmd(o *adminOpts) *cobra.Command {
	var hostType, fromFile string
	var workers int
	c := &cobra.Command{
		Use:   "add {NAME | --from-file FILE} --host-type T",
		Short: "Add a dynamic domain, or many from a file (one per line)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			switch {
			case fromFile != "" && len(args) > 0:
				return errors.New("give either a domain name or --from-file, not both")
			case fromFile == "" && len(args) == 0:
				return errors.New("give a domain name or --from-file FILE")
			}
			cl, err := o.client()
			if err != nil {
				return err
			}
			if fromFile != "" {
				return addDomainsFromFile(c, o, cl, fromFile, hostType, workers)
			}
			if err := cl.AddDomain(args[0], hostType); err != nil {
				return err
			}
			return o.done(c, actionResult{Result: "added", Domain: args[0], HostType: hostType},
				"added domain %s (host type %s)", args[0], hostType)
		},
	}
	c.Flags().StringVar(&hostType, "host-type", "", "host type to bind the domain to (required)")
	c.Flags().StringVar(&fromFile, "from-file", "", "add the domains listed in FILE, one per line (- for stdin)")
	c.Flags().IntVar(&workers, "workers", defaultWorkers, "concurrent requests for --from-file")
	_ = c.MarkFlagRequired("host-type")
	return c
}

func addDomainsFromFile(c *cobra.Command, o *adminOpts, cl *apiclient.Client, path, hostType string, workers int) error {
	in, closeIn, err := openInput(c, path, workers)
	if err != nil {
		return err
	}
	defer closeIn()
	var items []bulkItem
	sc := bufio.NewScanner(in)
	for n := 1; sc.Scan(); n++ {
		name := strings.TrimSpace(sc.Text())
		if name == "" || strings.HasPrefix(name, "#") {
			continue
		}
		items = append(items, bulkItem{line: n, name: name, run: func() error {
			return cl.AddDomain(name, hostType)
		}})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if len(items) == 0 {
		return fmt.Errorf("no domains in %s", path)
	}
	return runBulk(c, o, "added", "domains", items, workers)
}

func newDomainRemoveCmd(o *adminOpts) *cobra.Command {
	var hostType string
	var async bool
	c := &cobra.Command{
		Use:   "remove NAME --host-type T",
		Short: "Remove a dynamic domain and all its data",
		Long: "Remove a dynamic domain and all its data. --host-type must match the domain's, as a guard\n" +
			"against removing the wrong one. With --async the node accepts the request and keeps\n" +
			"deleting in the background; the domain shows status \"deleting\" until it is gone.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			name := args[0]
			if err := cl.RemoveDomain(name, hostType, async); err != nil {
				return err
			}
			if async {
				return o.done(c, actionResult{Result: "removal requested", Domain: name, HostType: hostType},
					"removal of domain %s requested; it continues in the background (see `domain show %s`)", name, name)
			}
			return o.done(c, actionResult{Result: "removed", Domain: name, HostType: hostType},
				"removed domain %s", name)
		},
	}
	c.Flags().StringVar(&hostType, "host-type", "", "the domain's host type (required)")
	c.Flags().BoolVar(&async, "async", false, "return at once and let the removal run in the background")
	_ = c.MarkFlagRequired("host-type")
	return c
}

// domainToggleCmd builds `domain enable` and `domain disable`.
func domainToggleCmd(o *adminOpts, verb, short, result string) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			if verb == "enable" {
				err = cl.EnableDomain(args[0])
			} else {
				err = cl.DisableDomain(args[0])
			}
			if err != nil {
				return err
			}
			return o.done(c, actionResult{Result: result, Domain: args[0]}, "%s domain %s", result, args[0])
		},
	}
}

func newDomainShowCmd(o *adminOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a dynamic domain's host type and status",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			d, err := cl.GetDomain(args[0])
			if err != nil {
				return err
			}
			if o.json() {
				return writeJSON(c.OutOrStdout(), d)
			}
			rows := [][]string{{"domain:", d.Domain}, {"host type:", d.HostType}, {"status:", d.Status}}
			if d.Type != "" {
				rows = append(rows, []string{"type:", d.Type})
			}
			return writeTable(c.OutOrStdout(), rows)
		},
	}
}

func newDomainListCmd(o *adminOpts) *cobra.Command {
	var hostType string
	c := &cobra.Command{
		Use:   "list [--host-type T]",
		Short: "List static and dynamic domains, sorted by name",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			ds, err := cl.ListDomains(hostType)
			if err != nil {
				return err
			}
			if o.json() {
				return writeJSON(c.OutOrStdout(), ds)
			}
			rows := [][]string{{"DOMAIN", "HOST_TYPE", "STATUS", "TYPE"}}
			for _, d := range ds {
				rows = append(rows, []string{d.Domain, d.HostType, d.Status, d.Type})
			}
			return writeTable(c.OutOrStdout(), rows)
		},
	}
	c.Flags().StringVar(&hostType, "host-type", "", "only domains of this host type")
	return c
}

func newDomainSetPasswordCmd(o *adminOpts) *cobra.Command {
	var password string
	c := &cobra.Command{
		Use:   "set-password NAME [--password P]",
		Short: "Set the domain admin password (from --password or the first line of stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			pw, err := passwordInput(c, password)
			if err != nil {
				return err
			}
			if err := cl.SetDomainPassword(args[0], pw); err != nil {
				return err
			}
			return o.done(c, actionResult{Result: "password set", Domain: args[0]},
				"set the admin password of domain %s", args[0])
		},
	}
	c.Flags().StringVar(&password, "password", "", "the password (visible in ps; prefer stdin)")
	return c
}

func newDomainDeletePasswordCmd(o *adminOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "delete-password NAME",
		Short: "Delete the domain admin password",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			if err := cl.DeleteDomainPassword(args[0]); err != nil {
				return err
			}
			return o.done(c, actionResult{Result: "password deleted", Domain: args[0]},
				"deleted the admin password of domain %s", args[0])
		},
	}
}
