package muclight

import (
	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// nsRoster is jabber:iq:roster, the namespace of the items rooms_in_rosters adds.
const nsRoster = "jabber:iq:roster"

// rosterItems is the roster get hook of rooms_in_rosters: one item per room the user
// occupies at its own domain's service, as MongooseIM's add_rooms_to_roster builds
// them (subscription "to", group urn:xmpp:muclight:0, name the roomname or else the
// room's local part, and the room's <version/>).
func (m *mod) rosterItems(user jid.JID) []*xmlstream.Element {
	parent := user.Domain()
	if ht, ok := m.env.Directory().HostTypeOf(parent); !ok || ht != m.o.hostType {
		return nil
	}
	var out []*xmlstream.Element
	err := m.env.Store().View(func(tx *bolt.Tx) error {
		names, _ := store.MUCLightUserRooms(tx, parent, user.Bare().String(), "", 0)
		for _, n := range names {
			room, ok, err := store.GetMUCLightRoom(tx, parent, n)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			name, ok := room.ConfigValue("roomname")
			if !ok {
				name = n
			}
			it := xmlstream.NewElement(nsRoster, "item",
				xmlstream.Attr{Local: "jid", Value: m.roomJID(parent, n)},
				xmlstream.Attr{Local: "name", Value: name},
				xmlstream.Attr{Local: "subscription", Value: "to"})
			it.AddChild(textEl(nsRoster, "group", NS))
			it.AddChild(textEl(nsRoster, "version", room.Version))
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		m.env.Logger().Warn("muclight rooms for roster not read", "user", user.String(), "error", err)
		return nil
	}
	return out
}
