package muclight

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// create makes a room named name (conflict if it exists) with creator and the
// occupants and configuration of q, and notifies each occupant of its affiliation.
func (m *mod) create(ctx context.Context, parent, name, creator string, q *xmlstream.Element) (string, error) {
	if _, err := jid.New(name, m.o.prefix+parent, ""); err != nil {
		return "", fmt.Errorf("%w: room name", errBadRequest)
	}
	cfg := make([]store.MUCLightField, 0, len(m.o.schema))
	for _, f := range m.o.schema {
		cfg = append(cfg, store.MUCLightField{Name: f.Name, Value: f.Default})
	}
	if c := q.Child(q.Space, "configuration"); c != nil {
		set, err := m.parseConfig(c)
		if err != nil {
			return "", err
		}
		cfg = mergeConfig(cfg, set)
	}
	var changes []affChange
	ownerGiven := false
	if occ := q.Child(q.Space, "occupants"); occ != nil {
		for _, u := range occ.ChildrenNamed(q.Space, "user") {
			user, a := bareUser(u.Text()), u.Attr("affiliation")
			if user == "" || user == creator || (a != "owner" && a != "member") {
				return "", errBadRequest
			}
			ownerGiven = ownerGiven || a == "owner"
			changes = append(changes, affChange{user, a})
		}
	}
	creatorAff := "owner"
	if ownerGiven || m.o.equalOccupants {
		creatorAff = "member"
	}
	if m.o.equalOccupants {
		for i := range changes {
			changes[i].aff = "member"
		}
	}
	roomJID := m.roomJID(parent, name)
	room := store.MUCLightRoom{Config: cfg, Affs: []store.MUCLightAff{{User: creator, Aff: creatorAff}}}
	_ = m.env.Store().View(func(tx *bolt.Tx) error {
		for _, c := range changes {
			if room.Aff(c.user) != "" {
				continue
			}
			// An invitee who blocked this room or the creator is skipped, as in MongooseIM.
			if m.o.blocking && (store.MUCLightIsBlocked(tx, parent, c.user, "room", roomJID) ||
				store.MUCLightIsBlocked(tx, parent, c.user, "user", creator)) {
				continue
			}
			room.Affs = append(room.Affs, store.MUCLightAff{User: c.user, Aff: c.aff})
		}
		return nil
	})
	owners := 0
	for _, a := range room.Affs {
		if a.Aff == "owner" {
			owners++
		}
	}
	if owners > 1 && !m.o.multipleOwners {
		return "", fmt.Errorf("%w: one owner only", errBadRequest)
	}
	if m.o.maxOccupants > 0 && len(room.Affs) > m.o.maxOccupants {
		return "", errNotAllowed
	}
	room.Version = newID()
	if _, err := m.env.Store().Apply(ctx, &store.PutMUCLightRoom{Domain: parent, Room: name, Create: true,
		State: room, RoomsPerUser: m.o.roomsPerUser, Static: m.static(parent)}); err != nil {
		return "", err
	}
	for _, a := range room.Affs {
		m.deliver(roomJID, a.User, groupchat(roomJID, affsX(NSAffs, "", room.Version, []store.MUCLightAff{a})))
	}
	return roomJID, nil
}

// update runs a read-modify-write of a room with compare-and-set retries. fn changes
// the room read for user (must be an occupant) and returns what notify needs.
func (m *mod) update(ctx context.Context, parent, name, user string,
	fn func(tx *bolt.Tx, before store.MUCLightRoom, after *store.MUCLightRoom) error,
	notify func(before, after *store.MUCLightRoom)) error {
	for range maxRetries {
		var before, after store.MUCLightRoom
		err := m.env.Store().View(func(tx *bolt.Tx) error {
			room, ok, err := store.GetMUCLightRoom(tx, parent, name)
			if err != nil {
				return err
			}
			if !ok || (user != "" && room.Aff(user) == "") {
				return errNotFound
			}
			before = room
			after = room
			after.Affs = append([]store.MUCLightAff(nil), room.Affs...)
			after.Config = append([]store.MUCLightField(nil), room.Config...)
			return fn(tx, before, &after)
		})
		if err != nil {
			return err
		}
		after.Version = newID()
		var mut interface {
			Apply(*bolt.Tx) (any, error)
		}
		if len(after.Affs) == 0 {
			// Everyone left: the room goes, as in MongooseIM.
			mut = &store.DeleteMUCLightRoom{Domain: parent, Room: name, PrevVersion: before.Version}
		} else {
			mut = &store.PutMUCLightRoom{Domain: parent, Room: name, PrevVersion: before.Version,
				State: after, RoomsPerUser: m.o.roomsPerUser, Static: m.static(parent)}
		}
		_, err = m.env.Store().Apply(ctx, mut)
		if errors.Is(err, store.ErrMUCLightConflict) {
			continue
		}
		if err != nil {
			return err
		}
		notify(&before, &after)
		return nil
	}
	return store.ErrMUCLightConflict
}

// destroy removes a room (owner only, or actor "" for the admin API) and tells every
// occupant.
func (m *mod) destroy(ctx context.Context, parent, name, actor string) error {
	roomJID := m.roomJID(parent, name)
	for range maxRetries {
		room, err := m.readRoom(parent, name, actor)
		if err != nil {
			return err
		}
		if actor != "" && room.Aff(actor) != "owner" {
			return errNotAllowed
		}
		_, err = m.env.Store().Apply(ctx, &store.DeleteMUCLightRoom{Domain: parent, Room: name, PrevVersion: room.Version})
		if errors.Is(err, store.ErrMUCLightConflict) {
			continue
		}
		if err != nil {
			return err
		}
		if f, ok := m.svc.getArchiver().(RoomForgetter); ok {
			if rj, err := jid.Parse(roomJID); err == nil {
				if err := f.ForgetRoom(ctx, rj); err != nil {
					m.env.Logger().Warn("archive of a destroyed room not deleted", "room", roomJID, "error", err)
				}
			}
		}
		for _, a := range room.Affs {
			m.deliver(roomJID, a.User, groupchat(roomJID,
				affsX(NSAffs, "", "", []store.MUCLightAff{{User: a.User, Aff: "none"}}),
				xmlstream.NewElement(NSDestroy, "x")))
		}
		return nil
	}
	return store.ErrMUCLightConflict
}
