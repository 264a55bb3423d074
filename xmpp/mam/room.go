package mam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// The room archive (mod_mam's muc section, MongooseIM's mod_mam_muc) for MUC Light.
// MUC Light offers every group message once, before fan-out (muclight.Archiver); it is
// archived once per room, owned by the room's bare JID, and the fanned-out copies carry
// <stanza-id by='room bare JID'/>. A room's archive reuses the account archive's
// buckets with the room's parent domain as the key's domain and the room's bare JID as
// its "user" (a localpart never contains '@', so no account can collide with it): the
// same cursor queries serve it, and removing the parent domain purges it with the rest
// of the domain's data.

// DefaultMUCHost is MongooseIM's default muc.host; MUC Light rooms are archived only
// when it names the MUC Light service ("muclight.@HOST@").
const DefaultMUCHost = "conference.@HOST@"

// roomOpts are the muc section's options (inheriting the root ones).
type roomOpts struct {
	prefix             string // the service domain's prefix: "muclight."
	defLimit, maxLimit int
	markers            bool
	noStanzaID         bool
}

func mucOpt[T any](get func(string, T) T, name string, def T) T {
	return get("muc."+name, get(name, def))
}

func (m *mod) startMUC(opts module.Options) error {
	host := opts.String("muc.host", DefaultMUCHost)
	prefix, ok := strings.CutSuffix(host, "@HOST@")
	if !ok || prefix == "" || strings.Contains(prefix, "@") {
		return fmt.Errorf("mod_mam: muc.host %q is not a subdomain pattern such as \"muclight.@HOST@\"", host)
	}
	m.room = &roomOpts{prefix: prefix,
		defLimit:   mucOpt(opts.Int, "default_result_limit", defaultPage),
		maxLimit:   mucOpt(opts.Int, "max_result_limit", defaultPage),
		markers:    mucOpt(opts.Bool, "archive_chat_markers", false),
		noStanzaID: mucOpt(opts.Bool, "no_stanzaid_element", false),
	}
	if m.room.defLimit <= 0 || m.room.maxLimit <= 0 {
		return fmt.Errorf("mod_mam: muc result limits must be positive")
	}
	return nil
}

// roomMod returns the module archiving room (a room JID at a service domain) and the
// service's parent domain; hostType may be empty (found from the parent domain).
func (s *Service) roomMod(hostType string, room jid.JID) (*mod, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ht, m := range s.mods {
		if m.room == nil || (hostType != "" && ht != hostType) {
			continue
		}
		parent, ok := strings.CutPrefix(room.Domain(), m.room.prefix)
		if !ok || parent == "" || room.Local() == "" {
			continue
		}
		if pht, ok := s.host.Directory().HostTypeOf(parent); ok && pht == ht {
			return m, parent, true
		}
	}
	return nil, "", false
}

func (m *mod) roomRef(parent string, room jid.JID) archiveRef {
	return archiveRef{domain: parent, user: room.Bare().String(), owner: room.Bare().String(),
		defLimit: m.room.defLimit, maxLimit: m.room.maxLimit}
}

// roomArchivable is archivable for group messages: a groupchat with a body (or a
// marker with archive_chat_markers), without no-store hints or a delay.
func (m *mod) roomArchivable(el *xmlstream.Element) bool {
	if el.Local != "message" || el.Attr("type") != "groupchat" ||
		el.Child(nsHints, "no-store") != nil || el.Child(nsHints, "no-permanent-store") != nil ||
		el.Child(stanza.NSDelay, "delay") != nil {
		return false
	}
	if el.Child(stanza.NSClient, "body") != nil {
		return true
	}
	if m.room.markers {
		for _, n := range []string{"received", "displayed", "acknowledged"} {
			if el.Child(nsMarkers, n) != nil {
				return true
			}
		}
	}
	return false
}

// ArchiveRoomMessage implements muclight.Archiver: it archives a group message once in
// the room's archive (waiting for the commit) and returns the element to fan out: el
// without a <stanza-id/> forged with the room's by, plus the room's own.
func (s *Service) ArchiveRoomMessage(ctx context.Context, hostType string, room, sender jid.JID,
	el *xmlstream.Element) *xmlstream.Element {
	room = room.Bare()
	clean := withoutStanzaID(el, room.String())
	m, parent, ok := s.roomMod(hostType, room)
	if !ok || !m.roomArchivable(el) {
		return clean
	}
	id := s.ids.Next(time.Now())
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := m.b.Submit(ctx, store.ArchiveRecord{Domain: parent, User: room.String(), ID: id,
		With: sender.Bare().String(), XML: clean.String(), Dynamic: !m.env.Directory().IsStatic(parent)})
	if err != nil {
		m.env.Logger().Warn("group message not archived", "room", room.String(), "error", err)
		return clean
	}
	m.roomArchived.Inc()
	if m.room.noStanzaID {
		return clean
	}
	out := &xmlstream.Element{Space: clean.Space, Local: clean.Local, Attrs: slices.Clone(clean.Attrs),
		Children: slices.Clone(clean.Children)}
	out.AddChild(xmlstream.NewElement(NSStanzaID, "stanza-id",
		xmlstream.Attr{Local: "by", Value: room.String()}, xmlstream.Attr{Local: "id", Value: EncodeID(id)}))
	return out
}

// QueryRoom answers a MAM IQ (get or set <query/>, get <metadata/>) addressed to a
// room: results go to the requester through the router, and the IQ reply is
// returned. occupant says whether the requester is one of the room's occupants
// (MUC Light checked that the room exists): by default only occupants may use the
// room's archive, and a non-occupant gets <item-not-found/> as for every other
// request to the room; the permission rules (permission.go) may allow or deny
// anyone.
func (s *Service) QueryRoom(ctx context.Context, hostType string, room, requester jid.JID, occupant bool,
	el *xmlstream.Element) *xmlstream.Element {
	m, parent, ok := s.roomMod(hostType, room)
	var p *xmlstream.Element
	if es := el.Elements(); len(es) > 0 {
		p = es[0]
	}
	if !ok || p == nil {
		return stanza.ErrorReply(el, stanza.ServiceUnavailable, "")
	}
	set := el.Attr("type") == "set"
	rules := rulesFor(p, set)
	if rules == nil {
		return stanza.ErrorReply(el, stanza.BadRequest, "")
	}
	if !m.permitted(rules, room.Domain(), requester, occupant) {
		if !occupant {
			return stanza.ErrorReply(el, stanza.ItemNotFound, "")
		}
		return stanza.ErrorReply(el, stanza.NotAllowed, textNotAllowed)
	}
	a := m.roomRef(parent, room)
	switch {
	case p.Local == "query" && !set:
		return stanza.Result(el, queryForm(p.Space))
	case p.Local == "query":
		if !m.shaped(requester, ActionLookup) {
			return stanza.ErrorReply(el, stanza.ResourceConstraint, textFlood)
		}
		m.roomLookups.Inc()
		return m.lookup(a, requester, el, p, func(res *xmlstream.Element) { _ = m.r.Deliver(res) })
	case p.Local == "metadata" && !set && p.Space == NS2:
		return stanza.Result(el, m.metadataOf(a))
	case p.Local == "prefs":
		// A room has no preferences: everything is archived.
		return stanza.ErrorReply(el, stanza.FeatureNotImplemented, "")
	}
	return stanza.ErrorReply(el, stanza.BadRequest, "")
}

// RoomFeatures is what a room's disco#info advertises of the room archive: the MAM
// namespaces when room's host type archives its rooms (mod_mam's muc section names
// its service), none otherwise. Room queries take the same form fields as PM ones,
// #extended included (before-id, after-id, ids, flip-page).
func (s *Service) RoomFeatures(hostType string, room jid.JID) []string {
	if _, _, ok := s.roomMod(hostType, room); !ok {
		return nil
	}
	return []string{NS1, NS2, NSExtended}
}

// ErrNoRoomArchive is a room history request for a room whose host type does not
// archive rooms.
var ErrNoRoomArchive = errors.New("mam: rooms of this service are not archived")

// RoomHistory implements muclight.HistoryReader: up to limit of the room's most
// recent archived messages, oldest first.
func (s *Service) RoomHistory(_ context.Context, room jid.JID, limit int) ([]*xmlstream.Element, error) {
	m, parent, ok := s.roomMod("", room)
	if !ok {
		return nil, ErrNoRoomArchive
	}
	q := store.ArchiveQuery{Domain: parent, User: room.Bare().String(), Last: true, Max: limit}
	var page store.ArchivePage
	if err := m.st.View(func(tx *bolt.Tx) (err error) {
		page, err = store.QueryArchive(tx, q)
		return err
	}); err != nil {
		return nil, fmt.Errorf("mam: room history: %w", err)
	}
	out := make([]*xmlstream.Element, 0, len(page.Messages))
	for _, am := range page.Messages {
		if el, err := module.ParseStanza([]byte(am.XML)); err == nil {
			out = append(out, el)
		}
	}
	return out, nil
}

// ForgetRoom deletes a destroyed room's archive (MongooseIM's forget_room hook: the
// archive of a destroyed room is removed), in chunks.
func (s *Service) ForgetRoom(ctx context.Context, room jid.JID) error {
	_, parent, ok := s.roomMod("", room)
	if !ok {
		return nil
	}
	return s.RemoveUser(ctx, parent, room.Bare().String())
}

// RoomArchiveCount is the number of messages in a room's archive (tests, tools).
func (s *Service) RoomArchiveCount(room jid.JID) int {
	m, parent, ok := s.roomMod("", room)
	if !ok {
		return 0
	}
	n := 0
	_ = m.st.View(func(tx *bolt.Tx) error { n = store.ArchiveCount(tx, parent, room.Bare().String(), ""); return nil })
	return n
}
