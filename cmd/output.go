package cmd

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mongoose-go/mongoose-go/cmd/apiclient"
)

// This file holds what the admin commands (domain, host-type, user, status) share: the
// connection flags, the -o output format, password input and the bulk runner used by
// `domain add --from-file` and `user import`.

const defaultAPI = "http://127.0.0.1:8088/api"

// Environment variables that stand in for the connection flags.
const (
	envAPI         = "MONGOOSE_API"
	envAPIUser     = "MONGOOSE_API_USER"
	envAPIPassword = "MONGOOSE_API_PASSWORD"
)

// outputFormat is the -o flag; as a pflag.Value a bad value fails during flag parsing
// with cobra's usual one-line error.
type outputFormat string

const (
	formatTable outputFormat = "table"
	formatJSON  outputFormat = "json"
)

func (f *outputFormat) String() string { return string(*f) }
func (f *outputFormat) Type() string   { return "format" }
func (f *outputFormat) Set(s string) error {
	switch outputFormat(s) {
	case formatTable, formatJSON:
		*f = outputFormat(s)
		return nil
	}
	return fmt.Errorf("want table or json")
}

// adminOpts are the connection and output flags of one top-level admin command. Each
// command tree built by NewRoot gets its own, so in-process tests do not share state.
type adminOpts struct {
	cmd      *cobra.Command // the top-level command that owns the persistent flags
	api      string
	user     string
	password string
	output   outputFormat
}

// addAdminFlags puts --api, --api-user, --api-password and -o on c as persistent flags.
// Root is not an admin command (serve, backup... do not talk to the API), so the flags
// live on each admin command rather than on root.
func addAdminFlags(c *cobra.Command) *adminOpts {
	o := &adminOpts{cmd: c, output: formatTable}
	f := c.PersistentFlags()
	f.StringVar(&o.api, "api", defaultAPI, "admin API base URL (env "+envAPI+")")
	f.StringVar(&o.user, "api-user", "", "admin API user for HTTP Basic auth (env "+envAPIUser+")")
	// No default from the environment here: cobra would print the password in --help.
	f.StringVar(&o.password, "api-password", "", "admin API password (env "+envAPIPassword+")")
	f.VarP(&o.output, "output", "o", "output format: table or json")
	return o
}

// setting returns the flag's value when given on the command line, else the environment
// variable's when set, else the flag's default.
func (o *adminOpts) setting(flag, env string) string {
	if fl := o.cmd.PersistentFlags().Lookup(flag); fl != nil && fl.Changed {
		return fl.Value.String()
	}
	if v, ok := os.LookupEnv(env); ok && v != "" {
		return v
	}
	return o.cmd.PersistentFlags().Lookup(flag).DefValue
}

// client builds the API client from flags and environment.
func (o *adminOpts) client() (*apiclient.Client, error) {
	base := o.setting("api", envAPI)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid admin API URL %q: want http(s)://host:port/path", base)
	}
	return apiclient.New(base, o.setting("api-user", envAPIUser), o.setting("api-password", envAPIPassword)), nil
}

func (o *adminOpts) json() bool { return o.output == formatJSON }

// writeJSON prints v indented, the -o json form of every admin command.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeTable prints rows aligned in columns; the first row is the header (or nil for none).
func writeTable(w io.Writer, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		if _, err := fmt.Fprintln(tw, strings.Join(r, "\t")); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// actionResult is what a mutating command prints with -o json (the API itself answers
// 204 with no body).
type actionResult struct {
	Result   string `json:"result"`
	Domain   string `json:"domain,omitempty"`
	HostType string `json:"host_type,omitempty"`
	User     string `json:"user,omitempty"`
}

// done reports a successful mutation: a sentence for people, an object for -o json.
func (o *adminOpts) done(c *cobra.Command, res actionResult, format string, args ...any) error {
	if o.json() {
		return writeJSON(c.OutOrStdout(), res)
	}
	_, err := fmt.Fprintf(c.OutOrStdout(), format+"\n", args...)
	return err
}

// isTerminal reports whether the stream is an interactive terminal.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// errNoPassword explains both ways to give a password.
var errNoPassword = errors.New("no password given: use --password or pass it on stdin")

// passwordInput returns the --password flag's value if given, else reads one from stdin:
// with a prompt and no echo (asked twice) on a terminal, else the first line of the input
// so that `echo secret | mongoose-go user add ...` works and the password stays out of ps.
func passwordInput(c *cobra.Command, flagValue string) (string, error) {
	if c.Flags().Changed("password") {
		if flagValue == "" {
			return "", errors.New("--password is empty")
		}
		return flagValue, nil
	}
	in := c.InOrStdin()
	if isTerminal(in) {
		return promptPassword(c, in.(*os.File))
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errNoPassword
	}
	return line, nil
}

func promptPassword(c *cobra.Command, tty *os.File) (string, error) {
	ask := func(prompt string) (string, error) {
		fmt.Fprint(c.ErrOrStderr(), prompt)
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(c.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	p1, err := ask("Password: ")
	if err != nil {
		return "", err
	}
	if p1 == "" {
		return "", errNoPassword
	}
	p2, err := ask("Retype password: ")
	if err != nil {
		return "", err
	}
	if p1 != p2 {
		return "", errors.New("passwords do not match")
	}
	return p1, nil
}

// groupCommand makes a command whose only job is to hold subcommands. Cobra would accept
// `domain frob` and print help with exit 0; scripts need a typo to fail.
func groupCommand(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath())
			}
			return c.Help()
		},
	}
}

// defaultWorkers is how many requests a bulk run keeps in flight: enough to hide the
// round trip and raft commit latency, few enough not to swamp a node.
const defaultWorkers = 8

// bulkItem is one request of a bulk run.
type bulkItem struct {
	line int    // line in the input file, for failure reports
	name string // the domain or JID, for failure reports
	run  func() error
}

type bulkFailure struct {
	Line  int    `json:"line"`
	Item  string `json:"item"`
	Error string `json:"error"`
}

type bulkResult struct {
	done, existed, failed int
	failures              []bulkFailure
	fatal                 error // first error that stopped the run
}

// fatalBulkError reports errors that every further request would also hit, so a run
// against a dead or misconfigured API stops at once instead of failing N times.
func fatalBulkError(err error) bool {
	return errors.Is(err, apiclient.ErrUnreachable) || errors.Is(err, apiclient.ErrUnauthorized)
}

// runBulk runs items on a pool of workers and prints the summary line, e.g.
// "added 998, already existed 2, failed 0" where verb is "added". Duplicates are not
// failures: re-running a half-done import must succeed. It returns an error when any
// item failed or the run was stopped.
func runBulk(c *cobra.Command, o *adminOpts, verb, noun string, items []bulkItem, workers int) error {
	stderr := c.ErrOrStderr()
	var bar *progressbar.ProgressBar
	if isTerminal(stderr) {
		bar = progressbar.NewOptions(len(items),
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription(verb),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(noun),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}
	res := execBulk(items, workers, func(f *bulkFailure) {
		if o.json() {
			return // the failures are part of the JSON report
		}
		if bar != nil {
			_ = bar.Clear()
		}
		fmt.Fprintf(stderr, "failed: line %d: %s: %s\n", f.Line, f.Item, f.Error)
	}, func() {
		if bar != nil {
			_ = bar.Add(1)
		}
	})
	if bar != nil {
		_ = bar.Finish()
	}
	notAttempted := len(items) - res.done - res.existed - res.failed
	if err := printBulkSummary(c, o, verb, res, notAttempted); err != nil {
		return err
	}
	if res.fatal != nil {
		return res.fatal
	}
	if res.failed > 0 {
		return fmt.Errorf("%d of %d %s failed", res.failed, len(items), noun)
	}
	return nil
}

// execBulk is the worker pool. Results are collected on the calling goroutine, so
// onFailure and onProgress need no locking.
func execBulk(items []bulkItem, workers int, onFailure func(*bulkFailure), onProgress func()) bulkResult {
	type outcome struct {
		i   int
		err error
	}
	jobs := make(chan int)
	outcomes := make(chan outcome, workers)
	stop := make(chan struct{})
	go func() {
		defer close(jobs)
		for i := range items {
			select {
			case jobs <- i:
			case <-stop:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range min(workers, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				outcomes <- outcome{i, items[i].run()}
			}
		}()
	}
	go func() { wg.Wait(); close(outcomes) }()

	var res bulkResult
	for oc := range outcomes {
		switch {
		case oc.err == nil:
			res.done++
		case apiclient.IsDuplicate(oc.err):
			res.existed++
		case fatalBulkError(oc.err):
			if res.fatal == nil {
				res.fatal = oc.err
				close(stop)
			}
			continue
		default:
			res.failed++
			f := bulkFailure{Line: items[oc.i].line, Item: items[oc.i].name, Error: oc.err.Error()}
			res.failures = append(res.failures, f)
			onFailure(&f)
		}
		onProgress()
	}
	sort.Slice(res.failures, func(a, b int) bool { return res.failures[a].Line < res.failures[b].Line })
	return res
}

func printBulkSummary(c *cobra.Command, o *adminOpts, verb string, res bulkResult, notAttempted int) error {
	if o.json() {
		report := map[string]any{
			verb:              res.done,
			"already_existed": res.existed,
			"failed":          res.failed,
			"failures":        append([]bulkFailure{}, res.failures...),
		}
		if res.fatal != nil {
			report["not_attempted"] = notAttempted
		}
		return writeJSON(c.OutOrStdout(), report)
	}
	line := fmt.Sprintf("%s %d, already existed %d, failed %d", verb, res.done, res.existed, res.failed)
	if res.fatal != nil {
		line += fmt.Sprintf(", not attempted %d", notAttempted)
	}
	_, err := fmt.Fprintln(c.OutOrStdout(), line)
	return err
}

// openInput opens a bulk input file; "-" is stdin. It checks --workers first so a bad
// value fails before any input is read.
func openInput(c *cobra.Command, path string, workers int) (io.Reader, func(), error) {
	if workers < 1 {
		return nil, nil, fmt.Errorf("--workers must be at least 1, got %d", workers)
	}
	if path == "-" {
		return c.InOrStdin(), func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}
