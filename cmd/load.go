package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mongoose-go/mongoose-go/cmd/apiclient"
	"github.com/mongoose-go/mongoose-go/node/loadgen"
)

// The load commands generate load against a running server: domain creation through
// the admin API, and amoc's one-to-one chat scenario over XMPP. They only contact the
// addresses given (loopback by default), do a fixed amount of work and stop by
// themselves after --duration at the latest.

func init() { register(newLoadCmd) }

// Bounds on one run, so a typo cannot turn a load run into a flood.
const (
	maxLoadDomains  = 1_000_000
	maxLoadUsers    = 100_000
	maxLoadMessages = 10_000_000
)

const (
	defaultLoadPrefix   = "load-domain-"
	defaultLoadXMPP     = "127.0.0.1:5222"
	defaultLoadDuration = 60 * time.Second
)

func newLoadCmd() *cobra.Command {
	c := groupCommand("load", "Generate load: domain creation, one-to-one chat (amoc metric names)")
	o := addAdminFlags(c)
	c.AddCommand(newLoadDomainsCmd(o), newLoadChatCmd(o))
	return c
}

// apiProvisioner provisions through the admin REST API.
type apiProvisioner struct{ c *apiclient.Client }

func (p apiProvisioner) AddDomain(domain, hostType string) error {
	return existsAs(p.c.AddDomain(domain, hostType))
}

func (p apiProvisioner) AddUser(domain, user, password string) error {
	return existsAs(p.c.AddUser(domain, user, password))
}

func existsAs(err error) error {
	if apiclient.IsDuplicate(err) {
		return fmt.Errorf("%w: %w", loadgen.ErrExists, err)
	}
	return err
}

// runContext bounds a run by its duration and ends it early on Ctrl-C.
func runContext(c *cobra.Command, d time.Duration) (context.Context, context.CancelFunc) {
	ctx := c.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, func() { cancel(); stop() }
}

func newLoadDomainsCmd(o *adminOpts) *cobra.Command {
	var (
		count, concurrency int
		hostType, prefix   string
		duration           time.Duration
	)
	c := &cobra.Command{
		Use:   "domains --count N --host-type T [--prefix P] [--concurrency C]",
		Short: "Create N domains through the admin API and report the rate and latency",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			switch {
			case count < 1 || count > maxLoadDomains:
				return fmt.Errorf("--count must be between 1 and %d, got %d", maxLoadDomains, count)
			case hostType == "":
				return errors.New("--host-type is required")
			case concurrency < 1:
				return fmt.Errorf("--concurrency must be at least 1, got %d", concurrency)
			case duration <= 0:
				return errors.New("--duration must be positive")
			}
			cl, err := o.client()
			if err != nil {
				return err
			}
			ctx, cancel := runContext(c, duration)
			defer cancel()
			res := loadgen.CreateDomains(ctx, apiProvisioner{cl}, loadgen.DomainsConfig{
				Names:       loadgen.DomainNames(prefix, count),
				HostType:    hostType,
				Concurrency: concurrency,
				Fatal:       fatalBulkError,
			})
			if err := printDomainsResult(c, o, res); err != nil {
				return err
			}
			switch {
			case res.NotAttempted > 0 && res.Failed > 0:
				return fmt.Errorf("stopped after %d requests: %s", res.Requests, res.Errors[0])
			case res.NotAttempted > 0:
				return fmt.Errorf("stopped (--duration %v or interrupt) with %d domains not attempted", duration, res.NotAttempted)
			case res.Failed > 0:
				return fmt.Errorf("%d of %d domains failed", res.Failed, count)
			}
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&count, "count", 0, "how many domains to create (required)")
	f.StringVar(&hostType, "host-type", "", "host type of the new domains (required)")
	f.StringVar(&prefix, "prefix", defaultLoadPrefix, "domain names are PREFIX1 .. PREFIXN")
	f.IntVar(&concurrency, "concurrency", 32, "requests in flight")
	f.DurationVar(&duration, "duration", defaultLoadDuration, "stop after this long even if not done")
	return c
}

func printDomainsResult(c *cobra.Command, o *adminOpts, r loadgen.DomainsResult) error {
	if o.json() {
		return writeJSON(c.OutOrStdout(), r)
	}
	rows := [][]string{
		{"METRIC", "VALUE"},
		{"domain_creation_requests", strconv.Itoa(r.Requests)},
		{"created", strconv.Itoa(r.Created)},
		{"already_existed", strconv.Itoa(r.Existed)},
		{"failed", strconv.Itoa(r.Failed)},
		{"not_attempted", strconv.Itoa(r.NotAttempted)},
		{"domain_creation_time p50/p99/max", latency3(r.Time)},
		{"domains_per_minute", fmt.Sprintf("%.0f", r.PerMinute)},
		{"elapsed", r.Elapsed.Round(time.Millisecond).String()},
	}
	if err := writeTable(c.OutOrStdout(), rows); err != nil {
		return err
	}
	for _, e := range r.Errors {
		fmt.Fprintln(c.ErrOrStderr(), "error:", e)
	}
	_, err := fmt.Fprintf(c.OutOrStdout(), "created %d, already existed %d, failed %d in %v: %.0f domains/min, p50 %s, p99 %s\n",
		r.Created, r.Existed, r.Failed, r.Elapsed.Round(time.Millisecond), r.PerMinute, msStr(r.Time.P50), msStr(r.Time.P99))
	return err
}

// chatFlags are the flags of `load chat`.
type chatFlags struct {
	xmpp, prefix, hostType, mechanism string
	domains, users, messages          int
	concurrency, window               int
	tls, provision, presence          bool
	interval, duration, loginTimeout  time.Duration
}

func newLoadChatCmd(o *adminOpts) *cobra.Command {
	var fl chatFlags
	c := &cobra.Command{
		Use:   "chat [--provision] --domains D --users-per-domain U --messages M",
		Short: "Log users in and exchange one-to-one chat messages; report delivery and time to delivery",
		Long: `Logs in user_1..user_U (password password_1..) of each of the domains PREFIX1..PREFIXD,
then every user sends M chat messages to up to 10 neighbours in its domain, each message
carrying its send time, and the run waits until every message is delivered or bounced.
With --provision the domains and users are first created through the admin API.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runLoadChat(c, o, fl) },
	}
	f := c.Flags()
	f.StringVar(&fl.xmpp, "xmpp", defaultLoadXMPP, "c2s listener HOST:PORT")
	f.IntVar(&fl.domains, "domains", 1, "number of domains")
	f.IntVar(&fl.users, "users-per-domain", 10, "users per domain")
	f.IntVar(&fl.messages, "messages", 10, "messages each user sends")
	f.StringVar(&fl.prefix, "prefix", defaultLoadPrefix, "domain names are PREFIX1 .. PREFIXD")
	f.BoolVar(&fl.provision, "provision", false, "create the domains and users through the admin API first")
	f.StringVar(&fl.hostType, "host-type", "basic", "host type of provisioned domains")
	f.IntVar(&fl.concurrency, "concurrency", 32, "logins (and provisioning requests) in flight")
	f.IntVar(&fl.window, "window", loadgen.DefaultWindow, "messages of one user on their way at once")
	f.DurationVar(&fl.interval, "interval", 0, "pause between one user's messages")
	f.BoolVar(&fl.tls, "tls", false, "negotiate STARTTLS (the certificate is not verified)")
	f.StringVar(&fl.mechanism, "mechanism", "", "SASL mechanism: PLAIN or SCRAM-SHA-256 (default PLAIN when offered)")
	f.BoolVar(&fl.presence, "presence", true, "send initial presence after login")
	f.DurationVar(&fl.loginTimeout, "login-timeout", 10*time.Second, "bound on one login")
	f.DurationVar(&fl.duration, "duration", defaultLoadDuration, "stop after this long even if not done")
	return c
}

func (fl chatFlags) validate() error {
	switch {
	case fl.domains < 1 || fl.users < 1:
		return errors.New("--domains and --users-per-domain must be at least 1")
	case fl.domains*fl.users > maxLoadUsers:
		return fmt.Errorf("at most %d users per run, asked for %d", maxLoadUsers, fl.domains*fl.users)
	case fl.messages < 0 || fl.messages*fl.domains*fl.users > maxLoadMessages:
		return fmt.Errorf("at most %d messages per run", maxLoadMessages)
	case fl.concurrency < 1 || fl.window < 1:
		return errors.New("--concurrency and --window must be at least 1")
	case fl.duration <= 0:
		return errors.New("--duration must be positive")
	}
	return nil
}

func runLoadChat(c *cobra.Command, o *adminOpts, fl chatFlags) error {
	if err := fl.validate(); err != nil {
		return err
	}
	cfg := loadgen.ChatConfig{
		Login: loadgen.LoginConfig{
			Addr: fl.xmpp, StartTLS: fl.tls, Mechanism: fl.mechanism,
			Concurrency: fl.concurrency, Timeout: fl.loginTimeout, Presence: fl.presence,
		},
		Domains:         loadgen.DomainNames(fl.prefix, fl.domains),
		UsersPerDomain:  fl.users,
		MessagesPerUser: fl.messages,
		Window:          fl.window,
		Interval:        fl.interval,
		HostType:        fl.hostType,
	}
	if fl.provision {
		cl, err := o.client()
		if err != nil {
			return err
		}
		cfg.Provisioner = apiProvisioner{cl}
	}
	ctx, cancel := runContext(c, fl.duration)
	defer cancel()
	res, err := loadgen.Chat(ctx, cfg)
	if err != nil {
		return err
	}
	if err := printChatResult(c, o, res); err != nil {
		return err
	}
	return chatVerdict(res)
}

// chatVerdict fails a run that was not clean, so scripts notice.
func chatVerdict(r loadgen.ChatResult) error {
	m := r.Messages
	var bad []string
	if r.Login.Failures > 0 {
		bad = append(bad, fmt.Sprintf("%d logins failed", r.Login.Failures))
	}
	if m.Lost > 0 {
		bad = append(bad, fmt.Sprintf("%d messages not delivered", m.Lost))
	}
	if m.TimedOut {
		bad = append(bad, "the run hit --duration")
	}
	if m.SendFailures > 0 || r.Disconnects > 0 {
		bad = append(bad, fmt.Sprintf("%d sessions broke", max(int(m.SendFailures), r.Disconnects)))
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, ", "))
	}
	return nil
}

func printChatResult(c *cobra.Command, o *adminOpts, r loadgen.ChatResult) error {
	if o.json() {
		return writeJSON(c.OutOrStdout(), r)
	}
	l, m := r.Login, r.Messages
	rows := [][]string{
		{"METRIC", "VALUE"},
		{"domains", strconv.Itoa(r.Domains)},
		{"users", strconv.Itoa(r.Users)},
		{"connections", strconv.Itoa(l.Connections)},
		{"connection_failures", strconv.Itoa(l.Failures)},
		{"connection p50/p99/max", latency3(l.Time)},
		{"logins_per_second", fmt.Sprintf("%.0f", l.PerSecond)},
		{"messages_sent", strconv.FormatInt(m.Sent, 10)},
		{"messages_received", strconv.FormatInt(m.Received, 10)},
		{"service_unavailable", strconv.FormatInt(m.ServiceUnavailable, 10)},
		{"other_errors", strconv.FormatInt(m.OtherErrors, 10)},
		{"lost", strconv.FormatInt(m.Lost, 10)},
		{"message_ttd p50/p99/max", latency3(m.TTD)},
		{"messages_per_second", fmt.Sprintf("%.0f", m.PerSecond)},
		{"disconnects", strconv.Itoa(r.Disconnects)},
	}
	if r.Provision > 0 {
		rows = append(rows, []string{"provisioning", r.Provision.Round(time.Millisecond).String()})
	}
	if err := writeTable(c.OutOrStdout(), rows); err != nil {
		return err
	}
	for _, e := range l.Errors {
		fmt.Fprintln(c.ErrOrStderr(), "login error:", e)
	}
	_, err := fmt.Fprintf(c.OutOrStdout(),
		"sent %d, received %d, lost %d; message_ttd p50 %s p99 %s; %.0f msgs/s; %d logins (%d failed) at %.0f/s\n",
		m.Sent, m.Received, m.Lost, msStr(m.TTD.P50), msStr(m.TTD.P99), m.PerSecond,
		l.Connections, l.Failures, l.PerSecond)
	return err
}

func latency3(l loadgen.Latency) string {
	return msStr(l.P50) + " / " + msStr(l.P99) + " / " + msStr(l.Max)
}

func msStr(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
