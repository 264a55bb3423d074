package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/mam"
	"github.com/mongoose-go/mongoose-go/xmpp/muclight"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// mamRooms connects MUC Light to mod_mam's room archive (its muc section): group
// messages, room MAM queries, the admin API's room history and destroyed rooms' archives.
// A host type whose mod_mam has no muc section archives nothing; its rooms' history
// answers muclight.ErrNoArchive.
type mamRooms struct{ m *mam.Service }

var (
	_ muclight.Archiver      = mamRooms{}
	_ muclight.HistoryReader = mamRooms{}
	_ muclight.RoomQuerier   = mamRooms{}
	_ muclight.RoomForgetter = mamRooms{}
	_ muclight.RoomFeaturer  = mamRooms{}
)

func (a mamRooms) ArchiveRoomMessage(ctx context.Context, hostType string, room, sender jid.JID, el *xmlstream.Element) *xmlstream.Element {
	return a.m.ArchiveRoomMessage(ctx, hostType, room, sender, el)
}

func (a mamRooms) QueryRoom(ctx context.Context, hostType string, room, requester jid.JID, occupant bool, el *xmlstream.Element) *xmlstream.Element {
	return a.m.QueryRoom(ctx, hostType, room, requester, occupant, el)
}

func (a mamRooms) RoomHistory(ctx context.Context, room jid.JID, limit int) ([]*xmlstream.Element, error) {
	msgs, err := a.m.RoomHistory(ctx, room, limit)
	if errors.Is(err, mam.ErrNoRoomArchive) {
		return nil, fmt.Errorf("%w: %w", muclight.ErrNoArchive, err)
	}
	return msgs, err
}

func (a mamRooms) ForgetRoom(ctx context.Context, room jid.JID) error {
	return a.m.ForgetRoom(ctx, room)
}

func (a mamRooms) RoomFeatures(hostType string, room jid.JID) []string {
	return a.m.RoomFeatures(hostType, room)
}
