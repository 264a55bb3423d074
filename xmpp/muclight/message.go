package muclight

import (
	"context"
	"errors"
	"fmt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// message handles a message to a room: a groupchat from an occupant goes to every
// occupant's sessions, from room/sender-bare-JID, with the sender's id kept.
func (r *req) message() *xmlstream.Element {
	if r.to.Local() == "" || r.to.Resource() != "" {
		return r.errReply(stanza.BadRequest, "")
	}
	if r.el.Attr("type") != "groupchat" {
		return r.errReply(stanza.BadRequest, "")
	}
	room, err := r.m.readRoom(r.parent, r.to.Local(), r.user())
	if err != nil {
		return r.errReply(condition(err), "")
	}
	r.m.broadcast(r.ctx, r.to.Bare(), r.from.Bare(), &room, r.el)
	return nil
}

// broadcast archives el once (when an Archiver is set) and fans it out to every
// occupant's sessions, on this node or any other.
func (m *mod) broadcast(ctx context.Context, room, sender jid.JID, state *store.MUCLightRoom, el *xmlstream.Element) {
	from := room.String() + "/" + sender.String()
	out := module.Readdress(el, from, "")
	if a := m.svc.getArchiver(); a != nil {
		out = a.ArchiveRoomMessage(ctx, m.o.hostType, room, sender, out)
	}
	for _, a := range state.Affs {
		m.deliver(from, a.User, out)
	}
}

// Errors of the service API (admin REST).
var (
	ErrNoService  = errors.New("muclight: no MUC Light service for this domain")
	ErrNotFound   = errors.New("muclight: room not found")
	ErrNotAllowed = errors.New("muclight: not allowed")
	ErrBadRequest = errors.New("muclight: bad request")
	ErrExists     = errors.New("muclight: room already exists")
)

func apiErr(err error) error {
	switch condition(err) {
	case stanza.ItemNotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case stanza.NotAllowed:
		return fmt.Errorf("%w: %w", ErrNotAllowed, err)
	case stanza.BadRequest:
		return fmt.Errorf("%w: %w", ErrBadRequest, err)
	case stanza.Conflict:
		return fmt.Errorf("%w: %w", ErrExists, err)
	}
	return err
}

// resolve returns the module serving the MUC Light service domain mucDomain
// (muclight.a.com) and the service's parent domain (a.com).
func (s *Service) resolve(mucDomain string) (*mod, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, m := range s.mods {
		if parent, ok := m.parentOf(mucDomain); ok {
			return m, parent, nil
		}
	}
	return nil, "", ErrNoService
}

// CreateRoom creates a room at the service mucDomain for owner (a bare JID) with the
// given room name and subject; an empty id lets the server choose one. It returns the
// room JID.
func (s *Service) CreateRoom(ctx context.Context, mucDomain, id, owner, name, subject string) (string, error) {
	m, parent, err := s.resolve(mucDomain)
	if err != nil {
		return "", err
	}
	if id == "" {
		id = newID()
	}
	q := xmlstream.NewElement(NSCreate, "query")
	cfg := xmlstream.NewElement(NSCreate, "configuration")
	cfg.AddChild(textEl(NSCreate, "roomname", name))
	cfg.AddChild(textEl(NSCreate, "subject", subject))
	q.AddChild(cfg)
	owner = bareUser(owner)
	if owner == "" {
		return "", ErrBadRequest
	}
	room, err := m.create(ctx, parent, id, owner, q)
	if err != nil {
		return "", apiErr(err)
	}
	return room, nil
}

// Invite adds recipient as a member, on sender's behalf (sender must be allowed to).
func (s *Service) Invite(ctx context.Context, mucDomain, id, sender, recipient string) error {
	m, parent, err := s.resolve(mucDomain)
	if err != nil {
		return err
	}
	if bareUser(recipient) == "" || bareUser(sender) == "" {
		return ErrBadRequest
	}
	return apiErr(m.setAffs(ctx, parent, id, bareUser(sender), []affChange{{user: bareUser(recipient), aff: "member"}}))
}

// SendMessage sends a groupchat body to the room from an occupant.
func (s *Service) SendMessage(ctx context.Context, mucDomain, id, from, body string) error {
	m, parent, err := s.resolve(mucDomain)
	if err != nil {
		return err
	}
	sender, err := jid.Parse(from)
	if err != nil || sender.Local() == "" {
		return ErrBadRequest
	}
	room, err := m.readRoom(parent, id, sender.Bare().String())
	if err != nil {
		return apiErr(err)
	}
	roomJID, err := jid.Parse(m.roomJID(parent, id))
	if err != nil {
		return ErrBadRequest
	}
	msg := xmlstream.NewElement("jabber:client", "message",
		xmlstream.Attr{Local: "type", Value: "groupchat"},
		xmlstream.Attr{Local: "id", Value: newID()})
	msg.AddChild(textEl("jabber:client", "body", body))
	m.broadcast(ctx, roomJID, sender.Bare(), &room, msg)
	return nil
}

// DeleteRoom destroys a room; occupants are told as when an owner destroys it.
func (s *Service) DeleteRoom(ctx context.Context, mucDomain, id string) error {
	m, parent, err := s.resolve(mucDomain)
	if err != nil {
		return err
	}
	return apiErr(m.destroy(ctx, parent, id, ""))
}

// ErrNoArchive is History without a room archive (mod_mam's muc part is off).
var ErrNoArchive = errors.New("muclight: no room archive (mod_mam muc is not enabled)")

// History returns up to limit archived messages of a room from the archive.
func (s *Service) History(ctx context.Context, mucDomain, id string, limit int) ([]*xmlstream.Element, error) {
	m, parent, err := s.resolve(mucDomain)
	if err != nil {
		return nil, err
	}
	if _, err := m.readRoom(parent, id, ""); err != nil {
		return nil, apiErr(err)
	}
	h, ok := s.getArchiver().(HistoryReader)
	if !ok {
		return nil, ErrNoArchive
	}
	room, err := jid.Parse(m.roomJID(parent, id))
	if err != nil {
		return nil, ErrBadRequest
	}
	return h.RoomHistory(ctx, room, limit)
}
