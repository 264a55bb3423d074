package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mongoose-go/mongoose-go/store"
)

// purge deletes a deleting domain's data in bounded chunks, one raft entry each, then
// its row. Other writes interleave between chunks, so a huge tenant never stalls the
// cluster.
func (n *Node) purge(ctx context.Context, name string) error {
	for {
		if n.purgeFault != nil {
			if err := n.purgeFault(name); err != nil {
				return fmt.Errorf("node: purge of %s stopped: %w", name, err)
			}
		}
		v, err := n.Apply(ctx, &store.PurgeDomain{Name: name, Limit: n.opts.PurgeChunk})
		if err != nil {
			return err
		}
		if res, ok := v.(store.PurgeResult); ok && res.Done {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	_, err := n.Apply(ctx, &store.DeleteDomainRow{Name: name})
	return err
}

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
