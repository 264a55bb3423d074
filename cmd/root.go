// Package cmd holds the cobra commands of the mongoose-go binary. Commands are thin:
// they parse flags, call node/ (serve, backup, restore, config check) or the admin REST
// API of a running node (everything else), and print.
package cmd

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X .../cmd.Version=...".
var Version = "dev"

// exitError carries a specific exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// NewRoot builds the command tree; tests call it to run commands in-process.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "mongoose-go",
		Short:         "Multi-tenant XMPP server with dynamic domains and an embedded replicated store",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, add := range subcommands {
		root.AddCommand(add())
	}
	return root
}

// subcommands is filled by each command file's init, so files stay independent.
var subcommands []func() *cobra.Command

func register(f func() *cobra.Command) { subcommands = append(subcommands, f) }

// Execute runs the CLI and exits non-zero with a one-line reason on failure.
func Execute() {
	root := NewRoot()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}
