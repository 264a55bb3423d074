// Package loadgen holds the load scenarios of `mongoose-go load` and of the
// chat benchmarks: domain creation through a provisioning API, and the
// one-to-one chat scenario of amoc-arsenal-xmpp's dynamic_domains_pm (log
// users in, send chat messages carrying a send timestamp to neighbours in the
// same domain, measure time to delivery).
//
// Results use amoc's metric names (domain_creation_requests,
// domain_creation_time, connections, connection_failures, messages_sent,
// messages_received, service_unavailable, message_ttd) so figures compare
// with MongooseIM's published runs. Users are amoc's: user_N with password
// password_N, numbered from 1 in each domain.
//
// Everything here is bounded: a scenario does a fixed amount of work and
// stops when its context ends, and it only talks to the addresses and the
// provisioner it is given.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
)

// ErrExists is what a Provisioner returns (possibly wrapped) for a domain or
// user that already exists; scenarios count it as success, as amoc does, so
// a run can be repeated.
var ErrExists = errors.New("loadgen: already exists")

// Provisioner creates domains and users, typically over the admin REST API.
// It must be safe for concurrent use.
type Provisioner interface {
	AddDomain(domain, hostType string) error
	AddUser(domain, user, password string) error
}

// Account is one user to log in.
type Account struct {
	Domain, User, Password string
}

// JID is the account's bare JID.
func (a Account) JID() string { return a.User + "@" + a.Domain }

// DomainNames returns prefix1 .. prefixN.
func DomainNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i+1)
	}
	return out
}

// Accounts returns user_1..user_N with passwords password_1..password_N in
// every domain, domain by domain.
func Accounts(domains []string, perDomain int) []Account {
	out := make([]Account, 0, len(domains)*perDomain)
	for _, d := range domains {
		for i := 1; i <= perDomain; i++ {
			n := strconv.Itoa(i)
			out = append(out, Account{Domain: d, User: "user_" + n, Password: "password_" + n})
		}
	}
	return out
}

// Provision creates the domains (of hostType) and then the accounts, with up
// to concurrency requests in flight. Existing ones are fine; the first other
// error stops the run and is returned.
func Provision(ctx context.Context, p Provisioner, hostType string, domains []string, accts []Account, concurrency int) error {
	err := parallel(ctx, len(domains), concurrency, func(i int) error {
		if err := p.AddDomain(domains[i], hostType); err != nil && !errors.Is(err, ErrExists) {
			return fmt.Errorf("domain %s: %w", domains[i], err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	err = parallel(ctx, len(accts), concurrency, func(i int) error {
		a := accts[i]
		if err := p.AddUser(a.Domain, a.User, a.Password); err != nil && !errors.Is(err, ErrExists) {
			return fmt.Errorf("user %s: %w", a.JID(), err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	return nil
}

// parallel runs fn(0..n-1) on up to workers goroutines. The first error, or
// the end of ctx, stops handing out work; it is returned after the calls in
// flight finish.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(workers, n)) {
		wg.Go(func() {
			for i := range jobs {
				if ctx.Err() != nil {
					continue // stopped: drain what the feeder already handed out
				}
				if err := fn(i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return context.Cause(ctx)
}
