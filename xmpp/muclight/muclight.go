// Package muclight is mod_muc_light: MongooseIM's lightweight group chat
// (doc/open-extensions/muc_light.md). Rooms live at a service subdomain of each domain
// ("muclight.@HOST@" by default). Room state is in the replicated store
// (store/muclight.go), so any node answers for any room, and a group message is fanned
// out by the node that received it to every occupant's sessions, wherever they are.
//
// The service subdomain must be routable: node/server wraps the directory so that
// muclight.a.com resolves to a.com's host type (and is a.com's subdomain for domain
// isolation). The module then takes every stanza addressed to its subdomain in an
// incoming filter, before the router's own handling.
package muclight

import (
	"context"
	"strings"
	"sync"

	"github.com/mongoose-go/mongoose-go/xmpp/disco"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Name is the module's name in the configuration.
const Name = "mod_muc_light"

// Namespaces.
const (
	NS           = "urn:xmpp:muclight:0"
	NSConfig     = NS + "#configuration"
	NSAffs       = NS + "#affiliations"
	NSInfo       = NS + "#info"
	NSBlocking   = NS + "#blocking"
	NSCreate     = NS + "#create"
	NSDestroy    = NS + "#destroy"
	nsDiscoInfo  = "http://jabber.org/protocol/disco#info"
	nsDiscoItems = "http://jabber.org/protocol/disco#items"
	nsRSM        = "http://jabber.org/protocol/rsm"
)

// DefaultHost is the service address pattern.
const DefaultHost = "muclight.@HOST@"

// Archiver is the hook for mod_mam's muc archive: when set (SetArchiver), every group
// message is offered once per room, before fan-out, addressed from the room with the
// sender as resource. It returns the element to fan out (with the archive's
// <stanza-id/>, or el itself). Implementations must not block for long: the sender
// waits.
type Archiver interface {
	ArchiveRoomMessage(ctx context.Context, hostType string, room, sender jid.JID, el *xmlstream.Element) *xmlstream.Element
}

// RoomQuerier is an optional interface of an Archiver: it answers a MAM IQ
// (urn:xmpp:mam:1 or :2) sent to an existing room, delivering results itself and
// returning the IQ reply. occupant tells whether the requester is one of the room's
// occupants; the archiver decides who may query.
type RoomQuerier interface {
	QueryRoom(ctx context.Context, hostType string, room, requester jid.JID, occupant bool, el *xmlstream.Element) *xmlstream.Element
}

// RoomForgetter is an optional interface of an Archiver: a destroyed room's archive
// is deleted.
type RoomForgetter interface {
	ForgetRoom(ctx context.Context, room jid.JID) error
}

// RoomFeaturer is an optional interface of an Archiver: the disco#info features a
// room adds for its archive (the MAM namespaces when the room's host type archives
// rooms, none otherwise).
type RoomFeaturer interface {
	RoomFeatures(hostType string, room jid.JID) []string
}

// MAM namespaces answered at room JIDs through a RoomQuerier.
const (
	nsMAM1 = "urn:xmpp:mam:1"
	nsMAM2 = "urn:xmpp:mam:2"
)

// HistoryReader is an optional interface of an Archiver: the admin API's room history.
type HistoryReader interface {
	RoomHistory(ctx context.Context, room jid.JID, limit int) ([]*xmlstream.Element, error)
}

// Service is mod_muc_light for all host types: Module() starts it per host type, and
// its methods serve the admin API.
type Service struct {
	host *module.Host

	mu       sync.RWMutex
	mods     map[string]*mod // by host type
	archiver Archiver
	schemas  map[string][]SchemaField // config_schema by host type (SetSchemas)
}

// New returns the service on a module host.
func New(h *module.Host) *Service {
	return &Service{host: h, mods: make(map[string]*mod)}
}

// Module is mod_muc_light's definition.
func (s *Service) Module() module.Module { return module.Module{Name: Name, Start: s.start} }

// SetArchiver installs the room archive (mod_mam's muc part); nil removes it.
func (s *Service) SetArchiver(a Archiver) {
	s.mu.Lock()
	s.archiver = a
	s.mu.Unlock()
}

func (s *Service) getArchiver() Archiver {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.archiver
}

// SchemaField is one config_schema item: a field, its type ("string", "integer",
// "float" or "boolean") and its default value in text form.
type SchemaField struct {
	Name, Type, Default string
}

// DefaultSchema is MongooseIM's default config_schema.
var DefaultSchema = []SchemaField{{"roomname", "string", "Untitled"}, {"subject", "string", ""}}

// SetSchemas sets the config_schema of host types (read by node/server from the
// configuration, which module.Options cannot express); call before the modules start.
// A host type without an entry uses DefaultSchema.
func (s *Service) SetSchemas(schemas map[string][]SchemaField) {
	s.mu.Lock()
	s.schemas = schemas
	s.mu.Unlock()
}

// HostPrefix returns the part of a "<prefix>@HOST@" pattern before @HOST@; ok is false
// for a pattern of another shape (a fixed host is not supported with dynamic domains).
func HostPrefix(pattern string) (prefix string, ok bool) {
	prefix, ok = strings.CutSuffix(pattern, "@HOST@")
	return prefix, ok && prefix != "" && !strings.Contains(prefix, "@")
}

type options struct {
	hostType                      string
	prefix                        string
	equalOccupants, blocking      bool
	allCanConfigure, allCanInvite bool
	multipleOwners, promote       bool
	roomsPerUser, maxOccupants    int
	roomsPerPage                  int
	schema                        []SchemaField
}

// maxConfigBytes bounds a room configuration: oversized configs are refused.
const maxConfigBytes = 8 << 10

func (s *Service) start(env *module.Env, o module.Options) error {
	prefix, ok := HostPrefix(o.String("host", DefaultHost))
	if !ok {
		return errBadHost
	}
	opts := &options{
		hostType:        env.HostType(),
		prefix:          prefix,
		equalOccupants:  o.Bool("equal_occupants", false),
		blocking:        o.Bool("blocking", true),
		allCanConfigure: o.Bool("all_can_configure", false),
		allCanInvite:    o.Bool("all_can_invite", false),
		multipleOwners:  o.Bool("allow_multiple_owners", false),
		promote:         o.Bool("promote_on_last_owner_leave", true),
		roomsPerUser:    o.Int("rooms_per_user", 0),
		maxOccupants:    o.Int("max_occupants", 0),
		roomsPerPage:    o.Int("rooms_per_page", 10),
	}
	s.mu.RLock()
	schema, ok := s.schemas[env.HostType()]
	s.mu.RUnlock()
	if !ok {
		schema = DefaultSchema
	}
	opts.schema = schema
	m := &mod{svc: s, env: env, o: opts}
	s.mu.Lock()
	s.mods[env.HostType()] = m
	s.mu.Unlock()
	env.OnStop(func() {
		s.mu.Lock()
		delete(s.mods, opts.hostType)
		s.mu.Unlock()
	})
	env.OnIncoming(module.PrioDefault, m.incoming)
	if o.Bool("rooms_in_rosters", false) {
		env.OnRosterGet(m.rosterItems)
	}
	env.AddDiscoItems(func(_, domain string) []disco.Item {
		return []disco.Item{{JID: opts.prefix + domain, Name: "MUC Light"}}
	})
	return nil
}

// mod is the module started for one host type.
type mod struct {
	svc *Service
	env *module.Env
	o   *options
}

// parentOf returns the domain whose service domain is d.
func (m *mod) parentOf(d string) (string, bool) {
	p, ok := strings.CutPrefix(d, m.o.prefix)
	if !ok || p == "" {
		return "", false
	}
	if ht, ok := m.env.Directory().HostTypeOf(p); !ok || ht != m.o.hostType {
		return "", false
	}
	return p, true
}

// incoming takes every stanza addressed to the service or one of its rooms.
func (m *mod) incoming(from, to jid.JID, el *xmlstream.Element) (module.Verdict, *xmlstream.Element) {
	parent, ok := m.parentOf(to.Domain())
	if !ok {
		return module.Continue, nil
	}
	if stanza.IsError(el) {
		return module.Stop, nil
	}
	r := &req{m: m, parent: parent, from: from, to: to, el: el, ctx: m.env.Context()}
	switch el.Local {
	case "iq":
		return module.Stop, r.iq()
	case "message":
		return module.Stop, r.message()
	}
	// Presence to the service or a room is ignored, as in MongooseIM.
	return module.Stop, nil
}

// req is one stanza for the service.
type req struct {
	m      *mod
	parent string
	from   jid.JID
	to     jid.JID
	el     *xmlstream.Element
	ctx    context.Context
}

func (r *req) user() string { return r.from.Bare().String() }

func (r *req) errReply(c stanza.Condition, text string) *xmlstream.Element {
	return stanza.ErrorReply(r.el, c, text)
}

// deliver sends el (shared) to every session of the occupant user, from 'from'.
func (m *mod) deliver(from string, user string, el *xmlstream.Element) {
	u, err := jid.Parse(user)
	if err != nil {
		return
	}
	rt := m.env.Router()
	for _, sess := range rt.Sessions(u.Domain(), u.Local()) {
		_ = rt.Deliver(module.Readdress(el, from, sess.JID().String()))
	}
}
