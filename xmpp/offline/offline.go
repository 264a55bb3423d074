// Package offline is mod_offline (XEP-0160): a chat or normal message with a body for
// an account with no available resource is stored in the replicated store, stamped
// with a XEP-0203 delay, and delivered in order when a resource of the account next
// becomes available with a non-negative priority.
//
// Stores go through a group-commit queue (xmpp/batch): many senders' messages become
// one raft entry, and each sender's goroutine waits until its own message is
// committed, so a stored message is durable when the router returns.
package offline

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/batch"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/metrics"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Name is the module's name in the configuration.
const Name = "mod_offline"

// Namespaces.
const (
	// NSOffline is the disco feature of XEP-0160 ("msgoffline").
	NSOffline = "msgoffline"
	nsHints   = "urn:xmpp:hints"
)

// DefaultLimit is max_user_offline_messages when the access rule gives no number.
const DefaultLimit = 100

// Batching of stores: at most BatchMax messages per raft entry, gathered for at most
// BatchInterval after the first.
const (
	BatchMax      = 256
	BatchInterval = 5 * time.Millisecond
)

// LimitFunc resolves an access rule (max_user_offline_messages by default, or the
// module's access_max_user_messages) to the queue length of one user (a bare JID) of a
// host type: the rule may give, say, admins a longer queue. It is asked for every
// message stored, so it must be cheap. A result <= 0 means DefaultLimit. node/server
// supplies it from the configuration's [acl] and [access].
type LimitFunc func(hostType, rule string, user jid.JID) int

// Module returns mod_offline's definition. Options: access_max_user_messages (the
// access rule naming the limit, default "max_user_offline_messages") and
// store_groupchat_messages (default false).
func Module(limit LimitFunc) module.Module {
	return module.Module{Name: Name, Start: func(env *module.Env, opts module.Options) error {
		return start(env, opts, limit)
	}}
}

type mod struct {
	env       *module.Env
	host      *module.Host
	st        module.Store
	r         module.Router
	limit     LimitFunc
	rule      string // the access rule naming the limit
	groupchat bool
	b         *batch.Batcher[store.OfflineRecord]
	stored    *metrics.Counter
	locks     [64]sync.Mutex
	seed      maphash.Seed
	queued    signal // fired when queues changed here (cluster.go)
}

func start(env *module.Env, opts module.Options, limit LimitFunc) error {
	m := &mod{env: env, host: env.Host(), st: env.Store(), r: env.Router(),
		stored:    env.Metrics().OfflineStored.For(env.HostType()),
		groupchat: opts.Bool("store_groupchat_messages", false), seed: maphash.MakeSeed()}
	m.limit, m.rule = limit, opts.String("access_max_user_messages", "max_user_offline_messages")
	m.b = batch.New(BatchMax, BatchInterval, m.flush)
	env.AddFeature(router.ToServer, NSOffline)
	env.OnOffline(module.PrioDefault, m.offline)
	env.OnAvailability(m.availability)
	env.OnSessionOpened(m.opened)
	env.OnStop(m.b.Close)
	if cl := env.Cluster(); cl != nil {
		cl.Handle(m.service(), m.handle)
		env.OnStop(func() { cl.Handle(m.service(), nil) })
		env.Store().OnApplied(func(mu store.Mutation) {
			if _, ok := mu.(*store.StoreOffline); ok {
				m.queued.fire()
			}
		})
		env.Store().OnReset(m.queued.fire)
	}
	return nil
}

// storable applies XEP-0160 and MongooseIM's rules: chat and normal messages with a
// body (groupchat only when configured), never headlines or errors, and never a
// message with the XEP-0334 no-store hint.
func (m *mod) storable(el *xmlstream.Element) bool {
	if el.Local != "message" {
		return false
	}
	switch el.Attr("type") {
	case "", "normal", "chat":
	case "groupchat":
		if !m.groupchat {
			return false
		}
	default:
		return false
	}
	if el.Child(nsHints, "no-store") != nil {
		return false
	}
	return el.Child(stanza.NSClient, "body") != nil || el.Child(nsHints, "store") != nil
}

// limitFor is the queue length of to's user.
func (m *mod) limitFor(to jid.JID) int {
	if m.limit != nil {
		if n := m.limit(m.env.HostType(), m.rule, to.Bare()); n > 0 {
			return n
		}
	}
	return DefaultLimit
}

// offline is the OnOffline hook, on the sender's goroutine: it returns once the
// message is committed (true) or refused.
func (m *mod) offline(to jid.JID, el *xmlstream.Element) bool {
	if !m.storable(el) || to.Local() == "" {
		return false
	}
	out := el.Clone()
	// The stamp is taken here, before proposing: Apply must be deterministic.
	delay := xmlstream.NewElement(stanza.NSDelay, "delay",
		xmlstream.Attr{Local: "from", Value: to.Domain()},
		xmlstream.Attr{Local: "stamp", Value: time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")})
	delay.AddText("Offline Storage")
	out.AddChild(delay)
	ctx, cancel := context.WithTimeout(m.env.Context(), 30*time.Second)
	defer cancel()
	err := m.b.Submit(ctx, store.OfflineRecord{Domain: to.Domain(), User: to.Local(), XML: out.String(), Limit: m.limitFor(to),
		Dynamic: !m.env.Directory().IsStatic(to.Domain())})
	switch {
	case err == nil:
		m.stored.Inc()
		return true
	case errors.Is(err, store.ErrOfflineFull):
		// XEP-0160 section 3: the queue is full; the sender may try again later.
		if !stanza.IsError(el) && el.Attr("from") != "" {
			_ = m.r.Deliver(stanza.ErrorReply(el, stanza.ResourceConstraint, "Offline message queue is full"))
		}
		return true
	default:
		m.env.Logger().Warn("offline message not stored", "to", to.String(), "error", err)
		return false
	}
}

// flush proposes one batch. Records that would overflow their queue are refused
// first from the local view of the store; if another node filled a queue in the
// meantime, Apply refuses the batch and the check runs again on fresher data.
func (m *mod) flush(recs []store.OfflineRecord) []error {
	errs := make([]error, len(recs))
	for attempt := 0; ; attempt++ {
		var batch []store.OfflineRecord
		var idx []int
		counts := map[[2]string]int{}
		err := m.st.View(func(tx *bolt.Tx) error {
			for i, r := range recs {
				if errs[i] != nil {
					continue
				}
				k := [2]string{r.Domain, r.User}
				n, ok := counts[k]
				if !ok {
					n = store.OfflineCount(tx, r.Domain, r.User)
				}
				if r.Limit > 0 && n+1 > r.Limit {
					errs[i] = store.ErrOfflineFull
					counts[k] = n
					continue
				}
				counts[k] = n + 1
				batch = append(batch, r)
				idx = append(idx, i)
			}
			return nil
		})
		if err == nil && len(batch) > 0 {
			ctx, cancel := context.WithTimeout(m.env.Context(), 30*time.Second)
			_, err = m.st.Apply(ctx, &store.StoreOffline{Records: batch})
			cancel()
		}
		if errors.Is(err, store.ErrOfflineFull) && attempt < 3 {
			continue
		}
		if err != nil {
			err = fmt.Errorf("offline: store batch: %w", err)
			for _, i := range idx {
				errs[i] = err
			}
		}
		return errs
	}
}

// availability delivers the queue when a session becomes available with a
// non-negative priority (XEP-0160 section 3).
func (m *mod) availability(s module.Session, before, after module.Availability) {
	was := before.Available && before.Priority >= 0
	if was || !after.Available || after.Priority < 0 {
		return
	}
	m.deliver(s)
}

// opened delivers at once for host types without mod_presence, where every session
// is available from the start.
func (m *mod) opened(s module.Session) {
	if !m.host.ManagesPresence(s.HostType()) {
		m.deliver(s)
	}
}

func (m *mod) deliver(s module.Session) {
	if m.deliverRemote(s) {
		return
	}
	_ = m.deliverQueue(s.JID(), func(el *xmlstream.Element) bool { s.Deliver(el); return true }, nil)
}

// afterRead, when set (tests), runs between reading a queue and delivering it.
var afterRead func(user jid.JID)

// deliverQueue delivers u's queue in stored order with send and then deletes it.
// confirm, when set, must succeed before the delete: it checks that what send
// queued reached the session. A message send refuses, or a failed confirm, leaves
// the whole queue in place (the caller then delivers again: at least once).
func (m *mod) deliverQueue(u jid.JID, send func(*xmlstream.Element) bool, confirm func() error) error {
	// Two resources coming online together must not both deliver the queue.
	mu := &m.locks[maphash.String(m.seed, u.Domain()+"\x00"+u.Local())%uint64(len(m.locks))]
	mu.Lock()
	defer mu.Unlock()
	var msgs []store.OfflineMessage
	_ = m.st.View(func(tx *bolt.Tx) error {
		msgs = store.OfflineMessages(tx, u.Domain(), u.Local())
		return nil
	})
	if len(msgs) == 0 {
		return nil
	}
	if afterRead != nil {
		afterRead(u)
	}
	for _, msg := range msgs {
		el, err := module.ParseStanza([]byte(msg.XML))
		if err != nil {
			m.env.Logger().Warn("stored offline message unreadable", "user", u.Bare().String(), "error", err)
			continue
		}
		if !send(el) {
			return fmt.Errorf("offline: delivery to %s refused", u)
		}
	}
	if confirm != nil {
		if err := confirm(); err != nil {
			return fmt.Errorf("offline: delivery to %s not confirmed: %w", u, err)
		}
	}
	ctx, cancel := context.WithTimeout(m.env.Context(), 30*time.Second)
	defer cancel()
	// Delivered first, deleted second: a failure here redelivers rather than loses.
	if _, err := m.st.Apply(ctx, &store.DeleteOffline{Domain: u.Domain(), User: u.Local(), Upto: msgs[len(msgs)-1].Seq}); err != nil {
		m.env.Logger().Warn("delivered offline messages not deleted", "user", u.Bare().String(), "error", err)
	}
	return nil
}
