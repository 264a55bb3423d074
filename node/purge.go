package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
)

// PurgeError is a removal stopped by a failing remove_domain step. The domain stays
// "deleting": nothing after the failed chunk ran, and a new DELETE resumes the removal
// from where it stopped (MongooseIM's removal_stops_if_handler_fails).
type PurgeError struct {
	Domain string
	Step   string
	Err    error
}

func (e *PurgeError) Error() string {
	return fmt.Sprintf("node: removal of %s stopped at step %s: %v", e.Domain, e.Step, e.Err)
}

func (e *PurgeError) Unwrap() error { return e.Err }

// purge runs every registered remove_domain step (store.DomainPurgeSteps) for a
// deleting domain, each in bounded chunks of one raft entry, then deletes its row.
// Other writes interleave between chunks, so a huge tenant never stalls the cluster.
func (n *Node) purge(ctx context.Context, name string) error {
	if hook := n.beforePurge.Load(); hook != nil {
		(*hook)(ctx, name)
	}
	for attempt := 1; ; attempt++ {
		for _, step := range store.DomainPurgeSteps() {
			if err := n.purgeStep(ctx, name, step); err != nil {
				return err
			}
		}
		_, err := n.Apply(ctx, &store.DeleteDomainRow{Name: name})
		if !errors.Is(err, store.ErrDomainHasData) || attempt == 3 {
			return err
		}
		// Stores refuse tenant writes once a domain is deleting, so this is a
		// write that no check covers: purge again rather than leave the row, and
		// say so, since it points at a missing check.
		n.log.Warn("data written during domain removal, purging again", "domain", name)
	}
}

func (n *Node) purgeStep(ctx context.Context, name, step string) error {
	for {
		if fault := n.purgeFault.Load(); fault != nil {
			if err := (*fault)(name, step); err != nil {
				return &PurgeError{Domain: name, Step: step, Err: err}
			}
		}
		// Most tenants have nothing for most steps: a step this node sees empty
		// costs no raft entry. A lagging view is safe: the row is deleted only once
		// the FSM finds no data, and purge runs the steps again otherwise.
		var has bool
		if err := n.View(func(tx *bolt.Tx) error { has = store.StepHasData(tx, name, step); return nil }); err == nil && !has {
			return nil
		}
		v, err := n.Apply(ctx, &store.PurgeDomain{Name: name, Step: step, Limit: n.opts.PurgeChunk})
		var ce *store.CodeError
		switch {
		case errors.Is(err, store.ErrDomainNotFound), errors.Is(err, store.ErrDomainNotDeleting):
			return err
		case errors.As(err, &ce):
			// A step the store refuses is refused on every node alike: retrying
			// cannot help until an operator acts.
			return &PurgeError{Domain: name, Step: step, Err: err}
		case err != nil:
			return err
		}
		if res, ok := v.(store.PurgeResult); ok && res.Done {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// BeforePurge registers fn to run before a removal deletes any data of a domain that
// is already out of service: the XMPP layer waits there until the domain's sessions,
// on every node, are gone (MongooseIM closes them first). fn must return by itself
// (bounded by ctx or its own deadline).
func (n *Node) BeforePurge(fn func(ctx context.Context, domain string)) { n.beforePurge.Store(&fn) }

// purgeAsync runs purge in the background once per domain at a time, retrying with
// back-off while the cluster has no leader.
func (n *Node) purgeAsync(name string) {
	n.purgeMu.Lock()
	if n.purging[name] {
		n.purgeMu.Unlock()
		return
	}
	n.purging[name] = true
	n.purgeMu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer func() {
			n.purgeMu.Lock()
			delete(n.purging, name)
			n.purgeMu.Unlock()
		}()
		backoff := 100 * time.Millisecond
		for {
			err := n.purge(n.ctx, name)
			switch {
			case err == nil:
				n.log.Info("domain removed", "domain", name)
				return
			case errors.Is(err, store.ErrDomainNotFound), errors.Is(err, store.ErrDomainNotDeleting),
				errors.Is(err, ErrClosed), n.ctx.Err() != nil:
				return
			}
			var pe *PurgeError
			if errors.As(err, &pe) {
				// Like MongooseIM, a failing step stops the removal: the domain
				// stays deleting until an operator sends DELETE again.
				n.log.Error("domain removal stopped", "domain", name, "step", pe.Step, "err", pe.Err)
				return
			}
			n.log.Warn("domain removal interrupted, retrying", "domain", name, "err", err)
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}()
}

// resumePurges restarts the removal of every domain left in the deleting state.
func (n *Node) resumePurges() {
	for _, d := range n.dir.List("") {
		if d.Status == store.StatusDeleting {
			n.purgeAsync(d.Name)
		}
	}
}
