package loadgen

import (
	"context"
	"errors"
	"time"
)

// DomainsConfig is a domain creation run.
type DomainsConfig struct {
	Names    []string
	HostType string
	// Concurrency is how many requests are in flight; 0 means 1.
	Concurrency int
	// Fatal, when set, marks errors every further request would hit too
	// (API unreachable, unauthorised): the run stops at the first one.
	Fatal func(error) bool
}

// maxErrorSamples bounds how many distinct error texts a result keeps.
const maxErrorSamples = 5

// DomainsResult is what a domain creation run measured.
type DomainsResult struct {
	// Requests is amoc's domain_creation_requests: requests answered.
	Requests int `json:"domain_creation_requests"`
	Created  int `json:"created"`
	// Existed counts duplicates, which amoc counts as success.
	Existed int `json:"already_existed"`
	Failed  int `json:"failed"`
	// NotAttempted counts names left when the run stopped early.
	NotAttempted int `json:"not_attempted"`
	// Time is amoc's domain_creation_time, per request.
	Time      Latency       `json:"domain_creation_time"`
	Elapsed   time.Duration `json:"-"`
	ElapsedS  float64       `json:"elapsed_s"`
	PerMinute float64       `json:"domains_per_minute"`
	// Errors holds up to five distinct error texts.
	Errors []string `json:"errors,omitempty"`
}

// CreateDomains creates cfg.Names through p and measures each request. It
// stops early when ctx ends or at a Fatal error.
func CreateDomains(ctx context.Context, p Provisioner, cfg DomainsConfig) DomainsResult {
	type outcome struct {
		err error
		d   time.Duration
	}
	outcomes := make([]outcome, len(cfg.Names))
	attempted := make([]bool, len(cfg.Names))
	start := time.Now()
	_ = parallel(ctx, len(cfg.Names), max(1, cfg.Concurrency), func(i int) error {
		t := time.Now()
		err := p.AddDomain(cfg.Names[i], cfg.HostType)
		outcomes[i] = outcome{err, time.Since(t)}
		attempted[i] = true
		if err != nil && cfg.Fatal != nil && cfg.Fatal(err) {
			return err
		}
		return nil
	})
	elapsed := time.Since(start)

	var res DomainsResult
	seen := map[string]bool{}
	samples := make([]time.Duration, 0, len(cfg.Names))
	for i, o := range outcomes {
		if !attempted[i] {
			res.NotAttempted++
			continue
		}
		res.Requests++
		samples = append(samples, o.d)
		switch {
		case o.err == nil:
			res.Created++
		case errors.Is(o.err, ErrExists):
			res.Existed++
		default:
			res.Failed++
			if msg := o.err.Error(); !seen[msg] && len(res.Errors) < maxErrorSamples {
				seen[msg] = true
				res.Errors = append(res.Errors, msg)
			}
		}
	}
	res.Time = Summarize(samples)
	res.Elapsed = elapsed
	res.ElapsedS = elapsed.Seconds()
	res.PerMinute = rate(int64(res.Requests), elapsed, time.Minute)
	return res
}
