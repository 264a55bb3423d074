package store

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// A domain purger is one feature's part of a domain removal: MongooseIM's
// remove_domain hook handler. Each file that stores tenant data registers its
// buckets from init, with a priority that orders the removal; the node runs the
// steps one after the other through raft, in bounded chunks, and stops at the first
// step that fails, leaving the domain "deleting" so that a new DELETE resumes it.
//
// Every purger keeps its data under "domain\x00..." keys, so the step itself is a
// range delete over its buckets. That keeps each step deterministic (it runs inside
// the FSM on every node) and lets HasDomainData prove that a domain left nothing
// behind before its row goes.
type domainPurger struct {
	name     string
	priority int
	buckets  [][]byte
}

// purgers is written only by init functions, which run before anything reads it.
var purgers []domainPurger

// registerDomainData registers a feature's remove_domain step. Lower priorities run
// first; accounts go last so that a stopped removal never leaves data of users who
// no longer exist in the registry.
func registerDomainData(name string, priority int, buckets ...[]byte) {
	if _, dup := stepBuckets(name); dup {
		panic("store: purge step registered twice: " + name)
	}
	purgers = append(purgers, domainPurger{name: name, priority: priority, buckets: buckets})
	slices.SortStableFunc(purgers, func(a, b domainPurger) int {
		return cmp.Or(cmp.Compare(a.priority, b.priority), cmp.Compare(a.name, b.name))
	})
}

// DomainPurgeSteps returns the names of the registered remove_domain steps in the
// order a removal runs them.
func DomainPurgeSteps() []string {
	names := make([]string, len(purgers))
	for i, p := range purgers {
		names[i] = p.name
	}
	return names
}

// stepBuckets returns the buckets of one step; "" names every domain-scoped bucket,
// in removal order.
func stepBuckets(step string) ([][]byte, bool) {
	var out [][]byte
	for _, p := range purgers {
		if step == "" {
			out = append(out, p.buckets...)
		} else if p.name == step {
			return p.buckets, true
		}
	}
	return out, step == ""
}

// domainScoped lists every bucket whose keys start with "domain\x00".
func domainScoped() [][]byte {
	b, _ := stepBuckets("")
	return b
}

// holdsDomain reports whether any of the buckets holds a key of domain.
func holdsDomain(tx *bolt.Tx, buckets [][]byte, domain string) bool {
	prefix := domainPrefix(domain)
	for _, name := range buckets {
		k, _ := tx.Bucket(name).Cursor().Seek(prefix)
		if k != nil && bytes.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// ErrUnknownPurgeStep rejects a purge naming a step this binary does not have, which
// a newer node could propose during a rolling upgrade. It is a CodeError, so the
// entry is refused on every node alike instead of stopping the FSM.
var ErrUnknownPurgeStep = newCodeErr("unknown_purge_step", "Unknown domain removal step")

// PurgeDomain deletes at most Limit keys of a deleting domain's data, so that removing
// a huge tenant never holds the FSM for long. Step names one registered purger
// (DomainPurgeSteps); empty means all of them in order. The result is a PurgeResult;
// Done means nothing of the step's data (or of the domain, for all steps) is left.
type PurgeDomain struct {
	Name  string
	Step  string
	Limit int
}

// PurgeResult is PurgeDomain's apply result.
type PurgeResult struct {
	Deleted int
	Done    bool
}

func (m *PurgeDomain) Apply(tx *bolt.Tx) (any, error) {
	d, ok := GetDomain(tx, m.Name)
	if !ok {
		return nil, ErrDomainNotFound
	}
	if d.Status != StatusDeleting {
		// A purge that arrives after the domain was re-added must not touch the new
		// tenant's data.
		return nil, fmt.Errorf("store: purge of %q: %w", m.Name, ErrDomainNotDeleting)
	}
	buckets, ok := stepBuckets(m.Step)
	if !ok {
		return nil, fmt.Errorf("store: purge of %q, step %q: %w", m.Name, m.Step, ErrUnknownPurgeStep)
	}
	limit := m.Limit
	if limit <= 0 {
		limit = 1000
	}
	prefix := domainPrefix(m.Name)
	res := PurgeResult{}
	for _, name := range buckets {
		c := tx.Bucket(name).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if res.Deleted == limit {
				return res, nil
			}
			if err := c.Delete(); err != nil {
				return nil, err
			}
			res.Deleted++
		}
	}
	res.Done = true
	return res, nil
}

// StepHasData reports whether the buckets of one removal step hold a key of domain;
// an unknown step reports true, so that the caller asks the FSM, which refuses it.
func StepHasData(tx *bolt.Tx, domain, step string) bool {
	buckets, ok := stepBuckets(step)
	return !ok || holdsDomain(tx, buckets, domain)
}

// HasDomainData reports whether any domain-scoped bucket still holds a key of domain.
func HasDomainData(tx *bolt.Tx, domain string) bool {
	return holdsDomain(tx, domainScoped(), domain)
}
