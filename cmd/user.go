package cmd

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mongoose-go/mongoose-go/cmd/apiclient"
)

func init() { register(newUserCmd) }

func newUserCmd() *cobra.Command {
	c := groupCommand("user", "Manage user accounts through the admin API")
	o := addAdminFlags(c)
	c.AddCommand(
		newUserAddCmd(o),
		newUserRemoveCmd(o),
		newUserListCmd(o),
		newUserPasswdCmd(o),
		newUserImportCmd(o),
	)
	return c
}

// splitJID splits a bare JID user@domain. Users are always named by their JID so that a
// command line reads like the address people type.
func splitJID(jid string) (user, domain string, err error) {
	user, domain, ok := strings.Cut(jid, "@")
	if !ok || user == "" || domain == "" || strings.ContainsAny(domain, "@/") {
		return "", "", fmt.Errorf("invalid JID %q: want user@domain", jid)
	}
	return user, domain, nil
}

func newUserAddCmd(o *adminOpts) *cobra.Command {
	var password string
	c := &cobra.Command{
		Use:   "add USER@DOMAIN [--password P]",
		Short: "Register a user (password from --password or the first line of stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			user, domain, err := splitJID(args[0])
			if err != nil {
				return err
			}
			cl, err := o.client()
			if err != nil {
				return err
			}
			pw, err := passwordInput(c, password)
			if err != nil {
				return err
			}
			if err := cl.AddUser(domain, user, pw); err != nil {
				return err
			}
			return o.done(c, actionResult{Result: "added", User: args[0]}, "added user %s", args[0])
		},
	}
	c.Flags().StringVar(&password, "password", "", "the password (visible in ps; prefer stdin)")
	return c
}

func newUserRemoveCmd(o *adminOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "remove USER@DOMAIN",
		Short: "Remove a user and its data",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			user, domain, err := splitJID(args[0])
			if err != nil {
				return err
			}
			cl, err := o.client()
			if err != nil {
				return err
			}
			if err := cl.RemoveUser(domain, user); err != nil {
				return err
			}
			return o.done(c, actionResult{Result: "removed", User: args[0]}, "removed user %s", args[0])
		},
	}
}

func newUserListCmd(o *adminOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "list DOMAIN",
		Short: "List the users of a domain, one JID per line",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			users, err := cl.ListUsers(args[0])
			if err != nil {
				return err
			}
			if o.json() {
				return writeJSON(c.OutOrStdout(), users)
			}
			// No header: a bare list pipes straight into other tools.
			for _, u := range users {
				if _, err := fmt.Fprintln(c.OutOrStdout(), u); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func newUserPasswdCmd(o *adminOpts) *cobra.Command {
	var password string
	c := &cobra.Command{
		Use:   "passwd USER@DOMAIN [--password P]",
		Short: "Change a user's password (from --password or the first line of stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			user, domain, err := splitJID(args[0])
			if err != nil {
				return err
			}
			cl, err := o.client()
			if err != nil {
				return err
			}
			pw, err := passwordInput(c, password)
			if err != nil {
				return err
			}
			if err := cl.ChangePassword(domain, user, pw); err != nil {
				return err
			}
			return o.done(c, actionResult{Result: "password changed", User: args[0]},
				"changed the password of %s", args[0])
		},
	}
	c.Flags().StringVar(&password, "password", "", "the new password (visible in ps; prefer stdin)")
	return c
}

func newUserImportCmd(o *adminOpts) *cobra.Command {
	var workers int
	c := &cobra.Command{
		Use:   "import FILE",
		Short: "Register users from a CSV file of user,domain,password lines (- for stdin)",
		Long: "Register users from a CSV file with the columns user,domain,password (a header line\n" +
			"with those names is skipped; # starts a comment line; quote fields that contain commas).\n" +
			"The whole file is checked before the first request. Users that already exist are counted\n" +
			"as \"already existed\", not as failures, so an interrupted import can simply be re-run.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			in, closeIn, err := openInput(c, args[0], workers)
			if err != nil {
				return err
			}
			defer closeIn()
			items, err := parseUserCSV(in, cl)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if len(items) == 0 {
				return fmt.Errorf("no users in %s", args[0])
			}
			return runBulk(c, o, "imported", "users", items, workers)
		},
	}
	c.Flags().IntVar(&workers, "workers", defaultWorkers, "concurrent requests")
	return c
}

// parseUserCSV reads user,domain,password records into bulk items. The first record is a
// header, and skipped, when its fields are the column names.
func parseUserCSV(in io.Reader, cl *apiclient.Client) ([]bulkItem, error) {
	r := csv.NewReader(in)
	r.Comment = '#'
	r.FieldsPerRecord = 3
	var items []bulkItem
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return items, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(0)
		user, domain, password := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1]), rec[2]
		if first && isUserCSVHeader(user, domain, password) {
			continue
		}
		if user == "" || domain == "" || strings.Contains(user, "@") {
			return nil, fmt.Errorf("line %d: want user,domain,password with a bare user name", line)
		}
		items = append(items, bulkItem{line: line, name: user + "@" + domain, run: func() error {
			return cl.AddUser(domain, user, password)
		}})
	}
}

func isUserCSVHeader(user, domain, password string) bool {
	return (strings.EqualFold(user, "user") || strings.EqualFold(user, "username")) &&
		strings.EqualFold(domain, "domain") && strings.EqualFold(strings.TrimSpace(password), "password")
}
