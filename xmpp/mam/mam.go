// Package mam is mod_mam (XEP-0313, Message Archive Management) for one-to-one
// chats: every chat or normal message with a body between local accounts is
// archived for both parties (the sender's copy when it is sent, the recipient's when
// it is routed to the recipient), the recipient's copy is delivered with a XEP-0359
// <stanza-id/>, and the owner queries the archive with the XEP-0313 form and XEP-0059
// paging.
//
// Archive writes go through a group-commit queue (xmpp/batch): many messages become
// one raft entry and one bbolt transaction per node. The sender's goroutine waits
// for both records to commit before the router moves on to its next stanza, so a
// message the server has answered for (a later IQ result, a stream management
// <a/>) is durable on a majority: unlike MongooseIM's asynchronous writer, a crash
// loses no acknowledged history.
package mam

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
const Name = "mod_mam"

// Namespaces.
const (
	NS1        = "urn:xmpp:mam:1"
	NS2        = "urn:xmpp:mam:2"
	NSExtended = "urn:xmpp:mam:2#extended"
	NSStanzaID = "urn:xmpp:sid:0"
	// NSGroupchatField advertises the include-groupchat form field (XEP-0313 8.1).
	NSGroupchatField = "urn:xmpp:mam:2#groupchat-field"
	NSRSM            = "http://jabber.org/protocol/rsm"
	NSForward        = "urn:xmpp:forward:0"
	NSData           = "jabber:x:data"
	nsHints          = "urn:xmpp:hints"
	nsMarkers        = "urn:xmpp:chat-markers:0"
	defaultPage      = 50
)

// Defaults of the batching queue (async_writer.batch_size and
// async_writer.flush_interval in ms). MongooseIM's are 30 and 2000 ms because its
// writer is asynchronous; here senders wait for the commit, so the interval is short
// and a batch is large enough for one raft entry to carry a busy node's traffic.
const (
	DefaultBatchSize     = 256
	DefaultFlushInterval = 2 * time.Millisecond
)

// Service is mod_mam's state shared by all host types: the node's id generator, the
// node-wide query shaper, and the per-host-type instances the admin API uses.
type Service struct {
	host       *module.Host
	ids        *IDs
	shapers    *shapers
	permission Permission

	mu   sync.Mutex
	mods map[string]*mod
}

// New returns the service for a node; nodeName gives the id's node number
// (NodeNumber).
func New(host *module.Host, nodeName string) *Service {
	return &Service{host: host, ids: NewIDs(NodeNumber(nodeName)), shapers: newShapers(), mods: map[string]*mod{}}
}

// SetShaping replaces MongooseIM's default shapers (UserQueryRate, GlobalQueryRate)
// with the configuration's; call it before the modules start.
func (s *Service) SetShaping(fn Shaping) { s.shapers.resolve = fn }

// Module returns mod_mam's definition.
func (s *Service) Module() module.Module { return module.Module{Name: Name, Start: s.start} }

type mod struct {
	svc        *Service
	env        *module.Env
	st         module.Store
	r          module.Router
	defLimit   int
	maxLimit   int
	markers    bool
	noStanzaID bool
	b          *batch.Batcher[store.ArchiveRecord]
	// This host type's counters.
	pmLookups, roomLookups, pmArchived, roomArchived *metrics.Counter
	// pm: the one-to-one archive is on; room: the MUC Light room archive's options
	// (nil when mod_mam has no muc section).
	pm   bool
	room *roomOpts
	// redelivered holds the recipient copies this module re-routes with their
	// stanza-id, so its filter lets them through instead of archiving them again.
	redelivered sync.Map
}

// opt reads an option of the pm section, falling back to the root (MongooseIM: pm
// and muc inherit the root options).
func opt[T any](get func(string, T) T, name string, def T) T {
	return get("pm."+name, get(name, def))
}

func (s *Service) start(env *module.Env, opts module.Options) error {
	pm, muc := opts.Has("pm"), opts.Has("muc")
	if !pm && !muc {
		env.Logger().Info("mod_mam without pm or muc: nothing archived for this host type")
		return nil
	}
	m := &mod{svc: s, env: env, st: env.Store(), r: env.Router(), pm: pm,
		defLimit:   opt(opts.Int, "default_result_limit", defaultPage),
		maxLimit:   opt(opts.Int, "max_result_limit", defaultPage),
		markers:    opt(opts.Bool, "archive_chat_markers", false),
		noStanzaID: opt(opts.Bool, "no_stanzaid_element", false),
	}
	ht, ms := env.HostType(), env.Metrics()
	m.pmLookups, m.roomLookups = ms.MAMPMLookups.For(ht), ms.MAMRoomLookups.For(ht)
	m.pmArchived, m.roomArchived = ms.MAMPMArchived.For(ht), ms.MAMRoomArchived.For(ht)
	if m.defLimit <= 0 || m.maxLimit <= 0 {
		return fmt.Errorf("mod_mam: result limits must be positive")
	}
	size := opt(opts.Int, "async_writer.batch_size", DefaultBatchSize)
	interval := DefaultFlushInterval
	if opts.Has("async_writer.flush_interval") || opts.Has("pm.async_writer.flush_interval") {
		interval = time.Duration(opt(opts.Int, "async_writer.flush_interval", 2)) * time.Millisecond
	}
	if !opt(opts.Bool, "async_writer.enabled", true) {
		size = 1
	}
	if muc {
		if err := m.startMUC(opts); err != nil {
			return err
		}
	}
	m.b = batch.New(size, interval, m.flush)
	if pm {
		for _, ns := range []string{NS1, NS2} {
			env.HandleIQ(ns, router.ToAccount, m.iq)
		}
		env.AddFeature(router.ToAccount, NSExtended)
		env.AddFeature(router.ToAccount, NSStanzaID)
		env.AddFeature(router.ToAccount, NSGroupchatField)
		env.OnUserSend(module.PrioArchive, m.send)
		env.OnIncoming(module.PrioArchive, m.incoming)
	}
	env.OnStop(m.b.Close)
	s.mu.Lock()
	s.mods[env.HostType()] = m
	s.mu.Unlock()
	return nil
}

func (m *mod) flush(recs []store.ArchiveRecord) []error {
	ctx, cancel := context.WithTimeout(m.env.Context(), 30*time.Second)
	defer cancel()
	if _, err := m.st.Apply(ctx, &store.ArchiveMessages{Records: recs}); err != nil {
		err = fmt.Errorf("mam: archive batch: %w", err)
		errs := make([]error, len(recs))
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	return nil
}

// archivable applies MongooseIM's rules (mod_mam_utils:is_archivable_message):
// chat and normal messages with a body, or a chat marker when archive_chat_markers
// is set; never errors, headlines, groupchat, delayed messages (offline
// redeliveries, forwarded history) or messages with a XEP-0334 no-store hint.
func (m *mod) archivable(el *xmlstream.Element) bool {
	if el.Local != "message" {
		return false
	}
	switch el.Attr("type") {
	case "", "normal", "chat":
	default:
		return false
	}
	if el.Child(nsHints, "no-store") != nil || el.Child(nsHints, "no-permanent-store") != nil ||
		el.Child(stanza.NSDelay, "delay") != nil {
		return false
	}
	if el.Child(stanza.NSClient, "body") != nil {
		return true
	}
	if m.markers {
		for _, n := range []string{"received", "displayed", "acknowledged"} {
			if el.Child(nsMarkers, n) != nil {
				return true
			}
		}
	}
	return false
}

// wants applies the owner's preferences (XEP-0313 section 6) to a conversation
// partner; with no preferences stored, everything is archived.
func (m *mod) wants(owner, with jid.JID) bool {
	var p store.MAMPrefs
	var ok, inRoster bool
	_ = m.st.View(func(tx *bolt.Tx) error {
		p, ok = store.GetMAMPrefs(tx, owner.Domain(), owner.Local())
		if ok && p.Default == "roster" {
			it, found, _ := store.GetRosterItem(tx, owner.Domain(), owner.Local(), with.String())
			inRoster = found && (it.Sub.HasTo() || it.Sub.HasFrom())
		}
		return nil
	})
	if !ok {
		return true
	}
	w := with.String()
	switch {
	case slices.Contains(p.Never, w):
		return false
	case slices.Contains(p.Always, w):
		return true
	case p.Default == "never":
		return false
	case p.Default == "roster":
		return inRoster
	}
	return true
}

// archive assigns an id (before proposing: Apply stays deterministic) and waits until
// the record is committed.
func (m *mod) archive(owner, with jid.JID, el *xmlstream.Element) (uint64, error) {
	id, wait := m.archiveAsync(owner, with, el)
	return id, wait()
}

// archiveAsync hands the record over to the next batch; wait returns its outcome.
func (m *mod) archiveAsync(owner, with jid.JID, el *xmlstream.Element) (id uint64, wait func() error) {
	id = m.svc.ids.Next(time.Now())
	ctx, cancel := context.WithTimeout(m.env.Context(), 30*time.Second)
	w := m.b.Enqueue(ctx, store.ArchiveRecord{Domain: owner.Domain(), User: owner.Local(),
		ID: id, With: with.String(), XML: el.String(), Dynamic: !m.env.Directory().IsStatic(owner.Domain())})
	return id, func() error {
		defer cancel()
		err := w(ctx)
		if err == nil {
			m.pmArchived.Inc()
		}
		return err
	}
}

// withoutStanzaID returns el without <stanza-id/> elements claiming to be from by
// (XEP-0359 section 7: a client must not be able to forge the archive's ids); el
// itself when it has none, otherwise a copy.
func withoutStanzaID(el *xmlstream.Element, by string) *xmlstream.Element {
	forged := func(n xmlstream.Node) bool {
		c, ok := n.(*xmlstream.Element)
		return ok && c.Space == NSStanzaID && c.Local == "stanza-id" && c.Attr("by") == by
	}
	if !slices.ContainsFunc(el.Children, forged) {
		return el
	}
	out := *el
	out.Attrs = slices.Clone(el.Attrs)
	out.Children = slices.DeleteFunc(slices.Clone(el.Children), forged)
	return &out
}

// send archives the sender's copy of a message its client sent.
func (m *mod) send(s module.Session, el *xmlstream.Element) module.Verdict {
	if !m.archivable(el) {
		return module.Continue
	}
	to, err := jid.Parse(el.Attr("to"))
	own := s.JID().Bare()
	if err != nil || to.Local() == "" || to.Bare() == own || !m.wants(own, to.Bare()) {
		return module.Continue
	}
	// The sender's copy commits while the message is routed, so that the
	// recipient's copy (archived on the way in, before delivery) usually joins the
	// same batch: one commit per message instead of two in a row. The stanza counts
	// as handled (XEP-0198) only once the sender's copy is committed.
	_, wait := m.archiveAsync(own, to.Bare(), withoutStanzaID(el, own.String()))
	m.env.BeforeHandled(s, func() {
		if err := wait(); err != nil {
			m.env.Logger().Warn("sent message not archived", "owner", own.String(), "error", err)
		}
	})
	return module.Continue
}

// incoming archives the recipient's copy and re-routes it with its <stanza-id/>.
// The stanza is shared with whoever else holds it (the sender's carbons, say), so
// the copy with the id is a new element: the original is dropped and the copy is
// routed in its place, through the filters again, which let it pass.
func (m *mod) incoming(from, to jid.JID, el *xmlstream.Element) (module.Verdict, *xmlstream.Element) {
	if el.Local != "message" || to.Local() == "" {
		return module.Continue, nil
	}
	if _, mine := m.redelivered.Load(el); mine {
		return module.Continue, nil
	}
	owner := to.Bare()
	clean := withoutStanzaID(el, owner.String())
	if !m.archivable(el) || from.Bare() == owner || !m.env.Accounts().UserExists(to.Domain(), to.Local()) ||
		!m.wants(owner, from.Bare()) {
		if clean != el {
			// Not archived, but a forged id of this archive is still removed.
			m.redeliver(clean, from)
			return module.Stop, nil
		}
		return module.Continue, nil
	}
	id, err := m.archive(owner, from.Bare(), clean)
	if err != nil {
		m.env.Logger().Warn("received message not archived", "owner", owner.String(), "error", err)
		return module.Continue, nil
	}
	if m.noStanzaID && clean == el {
		return module.Continue, nil
	}
	out := clean
	if out == el {
		out = &xmlstream.Element{Space: el.Space, Local: el.Local, Attrs: slices.Clone(el.Attrs),
			Children: slices.Clone(el.Children)}
	}
	if !m.noStanzaID {
		out.AddChild(xmlstream.NewElement(NSStanzaID, "stanza-id",
			xmlstream.Attr{Local: "by", Value: owner.String()}, xmlstream.Attr{Local: "id", Value: EncodeID(id)}))
	}
	m.redeliver(out, from)
	return module.Stop, nil
}

// peerRouter is *router.Router's entry for stanzas from other nodes.
type peerRouter interface {
	RouteFromPeer(el *xmlstream.Element) error
}

// redeliver routes the copy that replaces a dropped stanza. The filters ran on this
// node because the recipient's sessions (or its offline storage) are here, so the copy
// is routed as one from another node is: this node's filters and sessions, never
// forwarded again (which would archive it a second time there).
func (m *mod) redeliver(out *xmlstream.Element, from jid.JID) {
	if out.Attr("from") == "" {
		out.SetAttr("from", from.String())
	}
	m.redelivered.Store(out, struct{}{})
	defer m.redelivered.Delete(out)
	var err error
	if p, ok := m.r.(peerRouter); ok {
		err = p.RouteFromPeer(out)
	} else {
		err = m.r.Deliver(out)
	}
	if err != nil {
		m.env.Logger().Warn("archived message not delivered", "to", out.Attr("to"), "error", err)
	}
}

// ErrNotEnabled is an admin request for a domain whose host type has no PM archive.
var ErrNotEnabled = errors.New("mam: mod_mam is not enabled for this domain")

func (s *Service) modFor(domain string) (*mod, error) {
	ht, ok := s.host.Directory().HostTypeOf(domain)
	if !ok {
		return nil, ErrNotEnabled
	}
	s.mu.Lock()
	m := s.mods[ht]
	s.mu.Unlock()
	if m == nil || !m.pm {
		return nil, ErrNotEnabled
	}
	return m, nil
}

// removeChunk bounds one account-removal transaction.
const removeChunk = 10000

// RemoveUser deletes an account's archive and preferences (the account was
// removed), in chunks of removeChunk messages per raft entry.
func (s *Service) RemoveUser(ctx context.Context, domain, user string) error {
	st := s.host.Store()
	for {
		if _, err := st.Apply(ctx, &store.RemoveArchive{Domain: domain, User: user, Limit: removeChunk}); err != nil {
			return fmt.Errorf("mam: remove archive: %w", err)
		}
		n := 0
		_ = st.View(func(tx *bolt.Tx) error { n = store.ArchiveCount(tx, domain, user, ""); return nil })
		if n == 0 {
			return nil
		}
	}
}
