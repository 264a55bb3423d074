package loadgen

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ChatConfig is the one-to-one chat scenario (amoc's dynamic_domains_pm
// without its think times).
type ChatConfig struct {
	Login LoginConfig
	// Domains and UsersPerDomain name the accounts: user_1..user_U of each.
	Domains        []string
	UsersPerDomain int
	// MessagesPerUser is how many messages each logged-in user sends.
	MessagesPerUser int
	Window          int
	Interval        time.Duration
	// Provisioner, when set, creates the domains (of HostType) and users
	// first; nil means they exist.
	Provisioner Provisioner
	HostType    string
	// ProvisionConcurrency is how many provisioning requests are in flight;
	// 0 means Login.Concurrency.
	ProvisionConcurrency int
}

// ChatResult is what the chat scenario measured.
type ChatResult struct {
	Domains    int           `json:"domains"`
	Users      int           `json:"users"`
	Provision  time.Duration `json:"-"`
	ProvisionS float64       `json:"provision_s,omitempty"`
	Login      LoginStats    `json:"login"`
	Messages   ExchangeStats `json:"messages"`
	// Disconnects counts sessions the server ended during the run.
	Disconnects int `json:"disconnects"`
}

// ErrNoSessions means not one account could log in.
var ErrNoSessions = errors.New("loadgen: no session could be established")

// Chat provisions (optionally), logs every account in, exchanges messages and
// logs out. The error reports a run that could not start (provisioning failed,
// nobody logged in); lost messages and failed logins are in the result.
func Chat(ctx context.Context, cfg ChatConfig) (ChatResult, error) {
	accts := Accounts(cfg.Domains, cfg.UsersPerDomain)
	res := ChatResult{Domains: len(cfg.Domains), Users: len(accts)}
	if cfg.Provisioner != nil {
		start := time.Now()
		conc := cfg.ProvisionConcurrency
		if conc <= 0 {
			conc = cfg.Login.Concurrency
		}
		err := Provision(ctx, cfg.Provisioner, cfg.HostType, cfg.Domains, accts, conc)
		res.Provision = time.Since(start)
		res.ProvisionS = res.Provision.Seconds()
		if err != nil {
			return res, err
		}
	}
	fleet, login := Login(ctx, cfg.Login, accts)
	defer fleet.Close()
	res.Login = login
	if fleet.Len() == 0 {
		if len(login.Errors) > 0 {
			return res, fmt.Errorf("%w: %s", ErrNoSessions, login.Errors[0])
		}
		return res, ErrNoSessions
	}
	res.Messages = fleet.Exchange(ctx, ExchangeConfig{
		Messages: cfg.MessagesPerUser * fleet.Len(),
		Window:   cfg.Window,
		Interval: cfg.Interval,
	})
	res.Disconnects = fleet.Dropped()
	return res, nil
}
