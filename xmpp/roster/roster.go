// Package roster is mod_roster: roster management (RFC 6121 section 2), roster
// versioning (XEP-0237), pre-approval, and the presence subscription state machine of
// RFC 6121 section 3 and Appendix A, for both ends of a subscription (this server
// holds the user's and the contact's rosters alike).
//
// Rosters live in the replicated store (store.RosterItem). A change is read, decided
// here, and written with the version of the item that was read, so concurrent changes
// of one item retry instead of overwriting each other; roster pushes go out after the
// write is applied, from the node that made it.
package roster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Name is the module's name in the configuration.
const Name = "mod_roster"

// maxAttempts bounds the retries of a write that keeps meeting concurrent changes of
// the same item.
const maxAttempts = 16

// Service is mod_roster for every host type that enables it, and the roster
// operations of the admin API for all of them.
type Service struct {
	host *module.Host
	log  *slog.Logger

	mu    sync.RWMutex
	confs map[string]conf // started host types
	seq   atomic.Uint64   // push ids
}

type conf struct {
	versioning bool
}

// interestedKey marks a session that requested the roster: an "interested resource"
// (RFC 6121 section 2.1.6), which gets roster pushes.
type interestedKey struct{}

// New returns the roster service of a module host.
func New(host *module.Host) *Service {
	return &Service{host: host, log: host.Logger().With("module", Name), confs: map[string]conf{}}
}

// Module returns mod_roster's definition. Its options are MongooseIM's: versioning
// (XEP-0237, default false); store_current_id and backend are accepted and ignored
// (versions are counters kept with the roster).
func (s *Service) Module() module.Module {
	return module.Module{Name: Name, Start: s.start}
}

func (s *Service) start(env *module.Env, opts module.Options) error {
	c := conf{versioning: opts.Bool("versioning", false)}
	s.mu.Lock()
	s.confs[env.HostType()] = c
	s.mu.Unlock()
	env.HandleIQ(NS, router.ToAccount, s.handleIQ)
	env.AddFeature(router.ToServer, NS)
	env.OnStreamFeatures(func(stage module.Stage) []*xmlstream.Element {
		if stage != module.StagePostAuth {
			return nil
		}
		out := []*xmlstream.Element{xmlstream.NewElement(NSPreApproval, "sub")}
		if c.versioning {
			out = append(out, xmlstream.NewElement(NSVersioning, "ver"))
		}
		return out
	})
	env.OnUserSend(module.PrioRoster, s.userSend)
	env.OnIncoming(module.PrioRoster, s.incoming)
	env.OnAvailability(s.available)
	env.OnUserReceive(module.PrioRoster, receive)
	// A resource that asked for the roster keeps its pushes on another node.
	env.PortableValue("roster.interested", interestedKey{}, module.EncodeBool, module.DecodeBool)
	return nil
}

// receive drops roster pushes for a resource that never asked for the roster (RFC
// 6121 section 2.1.6: pushes go to interested resources only).
func receive(sess module.Session, el *xmlstream.Element) *xmlstream.Element {
	if el.Local == "iq" && el.Attr("type") == "set" && sess.Value(interestedKey{}) == nil &&
		el.Attr("from") == sess.JID().Bare().String() && el.Child(NS, "query") != nil {
		return nil
	}
	return el
}

func (s *Service) versioning(hostType string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.confs[hostType].versioning
}

// handleIQ answers jabber:iq:roster gets and sets (RFC 6121 sections 2.2 to 2.5).
func (s *Service) handleIQ(ctx context.Context, q *router.IQ) *xmlstream.Element {
	if q.Payload.Local != "query" {
		return q.Error(stanza.BadRequest, "")
	}
	// Section 2.1.5 / 2.3.3: only the account itself reads or changes its roster.
	if !q.OwnAccount() {
		return q.Error(stanza.Forbidden, "")
	}
	if q.El.Attr("type") == "get" {
		return s.get(q)
	}
	return s.set(ctx, q)
}

func (s *Service) get(q *router.IQ) *xmlstream.Element {
	if ms, ok := q.Session.(module.Session); ok {
		ms.SetValue(interestedKey{}, true)
	}
	versioning := s.versioning(q.HostType)
	var items []*xmlstream.Element
	var ver uint64
	err := s.host.Store().View(func(tx *bolt.Tx) error {
		ver = store.RosterVersion(tx, q.To.Domain(), q.To.Local())
		return store.ForEachRosterItem(tx, q.To.Domain(), q.To.Local(), func(it store.RosterItem) error {
			if it.Visible() {
				items = append(items, itemElement(it))
			}
			return nil
		})
	})
	if err != nil {
		s.log.Error("roster: read", "user", q.To, "error", err)
		return q.Error(stanza.InternalServerError, "")
	}
	// XEP-0237 section 2.2: an up-to-date client gets an empty result.
	if versioning && hasAttr(q.Payload, "ver") && q.Payload.Attr("ver") == versionString(ver) {
		return q.Result(nil)
	}
	// Items of other modules (mod_muc_light's rooms_in_rosters) come first, as
	// MongooseIM's roster_get hook prepends them.
	items = append(s.host.RosterGet(q.HostType, q.To.Bare()), items...)
	return q.Result(queryElement(versionString(ver), versioning, items...))
}

func (s *Service) set(ctx context.Context, q *router.IQ) *xmlstream.Element {
	req, serr := parseSet(q.Payload, q.To)
	if serr != nil {
		return q.Error(serr.cond, serr.text)
	}
	contact := req.contact.String()
	var err error
	if req.remove {
		err = s.remove(ctx, q.To, req.contact, true)
	} else {
		_, _, err = s.change(ctx, q.To, contact, func(cur store.RosterItem) (store.RosterItem, error) {
			cur.Name, cur.Groups, cur.Listed = req.name, req.groups, true
			return cur, nil
		})
	}
	switch {
	case errors.Is(err, errItemNotFound):
		// Section 2.5.3.
		return q.Error(stanza.ItemNotFound, "")
	case err != nil:
		s.log.Error("roster: set", "user", q.To, "contact", contact, "error", err)
		return q.Error(stanza.InternalServerError, "")
	}
	return q.Result(nil)
}

var errItemNotFound = errors.New("roster: no such item")

// change reads the user's item for contact (a zero item with Contact set when there is
// none), lets fn decide its next state, and writes it if it differs, retrying on
// concurrent changes. An item left empty is deleted. After the write, the user's
// interested resources get a roster push if what they see changed. It returns the
// item before and after.
func (s *Service) change(ctx context.Context, user jid.JID, contact string,
	fn func(store.RosterItem) (store.RosterItem, error)) (before, after store.RosterItem, err error) {
	domain, local := user.Domain(), user.Local()
	for attempt := 1; ; attempt++ {
		cur := store.RosterItem{Contact: contact}
		err = s.host.Store().View(func(tx *bolt.Tx) error {
			it, ok, err := store.GetRosterItem(tx, domain, local, contact)
			if ok {
				cur = it
			}
			return err
		})
		if err != nil {
			return cur, cur, err
		}
		next, err := fn(cur)
		if err != nil {
			return cur, cur, err
		}
		next.Contact, next.Ver = contact, cur.Ver
		if sameItem(cur, next) {
			return cur, cur, nil
		}
		del := empty(next)
		if del && cur.Ver == 0 {
			return cur, next, nil
		}
		_, err = s.host.Store().Apply(ctx, &store.SetRosterItem{
			Domain: domain, User: local, Static: s.host.Directory().IsStatic(domain),
			ExpectVer: cur.Ver, Delete: del, Item: next,
		})
		if errors.Is(err, store.ErrRosterConflict) && attempt < maxAttempts {
			continue
		}
		if err != nil {
			return cur, cur, err
		}
		s.push(user, cur, next)
		return cur, next, nil
	}
}

// push sends a roster push for a change from before to after, unless the user sees no
// difference (RFC 6121 section 2.1.6). The version quoted is the one the write gave
// the item, read back; if the item changed again since, the later writer pushes.
func (s *Service) push(user jid.JID, before, after store.RosterItem) {
	if !before.Visible() && !after.Visible() || before.Visible() && after.Visible() && sameView(before, after) {
		return
	}
	domain, local := user.Domain(), user.Local()
	var ver uint64
	superseded := false
	_ = s.host.Store().View(func(tx *bolt.Tx) error {
		it, ok, err := store.GetRosterItem(tx, domain, local, after.Contact)
		switch {
		case err != nil:
			superseded = true
		case after.Visible():
			superseded = !ok || !sameItem(it, after)
			ver = it.Ver
		default:
			superseded = ok && it.Visible()
			ver = store.RosterVersion(tx, domain, local)
		}
		return nil
	})
	if superseded {
		return
	}
	item := removedElement(after.Contact)
	if after.Visible() {
		item = itemElement(after)
	}
	ht, _ := s.host.Directory().HostTypeOf(domain)
	s.pushItem(user, queryElement(versionString(ver), s.versioning(ht), item))
}

// pushItem sends a roster push query to every resource of the user; receive lets it
// through to the interested ones only. Deciding there, on the node that holds the
// session, works for sessions on other nodes of the cluster too.
func (s *Service) pushItem(user jid.JID, query *xmlstream.Element) {
	from := user.String()
	for _, rs := range s.host.Router().Sessions(user.Domain(), user.Local()) {
		iq := xmlstream.NewElement(stanza.NSClient, "iq",
			xmlstream.Attr{Local: "type", Value: "set"},
			xmlstream.Attr{Local: "id", Value: "push" + strconv.FormatUint(s.seq.Add(1), 10)},
			xmlstream.Attr{Local: "from", Value: from},
			xmlstream.Attr{Local: "to", Value: rs.JID().String()})
		iq.Children = []xmlstream.Node{query}
		rs.Deliver(iq)
	}
}

// remove deletes the user's item for contact and cancels the subscriptions both ways
// (RFC 6121 section 2.5.2). visibleOnly refuses items the user does not see (a
// pending request only) as not found.
func (s *Service) remove(ctx context.Context, user, contact jid.JID, visibleOnly bool) error {
	before, _, err := s.change(ctx, user, contact.String(), func(cur store.RosterItem) (store.RosterItem, error) {
		if cur.Ver == 0 || visibleOnly && !cur.Visible() {
			return cur, errItemNotFound
		}
		return store.RosterItem{}, nil
	})
	if err != nil {
		return err
	}
	s.cancelBoth(user, contact, before)
	s.presenceEffects(user, contact, before.Sub, store.SubNone)
	return nil
}

// cancelBoth tells the contact that the subscriptions of a removed item are gone.
func (s *Service) cancelBoth(user, contact jid.JID, it store.RosterItem) {
	if it.Sub.HasTo() || it.PendingOut {
		s.sendSubscription(user, contact.Bare(), typeUnsubscribe)
	}
	if it.Sub.HasFrom() || it.PendingIn {
		s.sendSubscription(user, contact.Bare(), typeUnsubscribed)
	}
}

func (s *Service) sendSubscription(from, to jid.JID, typ string) {
	el := xmlstream.NewElement(stanza.NSClient, "presence",
		xmlstream.Attr{Local: "type", Value: typ},
		xmlstream.Attr{Local: "from", Value: from.String()},
		xmlstream.Attr{Local: "to", Value: to.String()})
	if err := s.host.Router().Deliver(el); err != nil {
		s.log.Debug("roster: subscription not routed", "from", from, "to", to, "error", err)
	}
}

// presenceEffects shares or withdraws the user's presence when the contact's
// subscription to it ('from') starts or ends: every available resource of the user
// sends the contact its last presence (RFC 6121 section 3.1.5) or unavailable
// presence (sections 3.2.2 and 3.3.3).
func (s *Service) presenceEffects(user, contact jid.JID, before, after store.Subscription) {
	gained, lost := !before.HasFrom() && after.HasFrom(), before.HasFrom() && !after.HasFrom()
	if !gained && !lost {
		return
	}
	r := s.host.Router()
	to := contact.String()
	for _, rs := range r.Sessions(user.Domain(), user.Local()) {
		ms, local := rs.(module.Session)
		var last *xmlstream.Element
		var available bool
		if local {
			last = ms.Presence()
			available = last != nil
		} else if p, ok := rs.(router.Prioritized); ok {
			_, available = p.Priority()
		}
		if !available {
			continue
		}
		from := rs.JID().String()
		switch {
		case lost:
			_ = r.Deliver(xmlstream.NewElement(stanza.NSClient, "presence",
				xmlstream.Attr{Local: "type", Value: "unavailable"},
				xmlstream.Attr{Local: "from", Value: from},
				xmlstream.Attr{Local: "to", Value: to}))
		case local:
			_ = r.Deliver(module.Readdress(last, from, to))
		default:
			// A session on another node: its presence is known there. A probe on
			// the contact's behalf makes that node answer with it (mod_presence).
			rs.Deliver(xmlstream.NewElement(stanza.NSClient, "presence",
				xmlstream.Attr{Local: "type", Value: "probe"},
				xmlstream.Attr{Local: "from", Value: to},
				xmlstream.Attr{Local: "to", Value: from}))
		}
	}
}

// available redelivers pending subscription requests to a session that just became
// available (RFC 6121 section 3.1.3: they wait until the contact next has an available
// resource, and are offered again until answered).
func (s *Service) available(sess module.Session, before, after module.Availability) {
	if before.Available || !after.Available {
		return
	}
	user := sess.JID().Bare()
	var reqs []string
	err := s.host.Store().View(func(tx *bolt.Tx) error {
		return store.ForEachRosterItem(tx, user.Domain(), user.Local(), func(it store.RosterItem) error {
			if it.PendingIn && it.Request != "" {
				reqs = append(reqs, it.Request)
			}
			return nil
		})
	})
	if err != nil {
		s.log.Error("roster: read pending requests", "user", user, "error", err)
		return
	}
	for _, r := range reqs {
		el, err := parseRequest(r)
		if err != nil {
			s.log.Error("roster: stored request unreadable", "user", user, "error", err)
			continue
		}
		sess.Deliver(el)
	}
}

func (s *Service) ctx() context.Context { return s.host.Context() }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("roster: %s: %w", op, err)
}
