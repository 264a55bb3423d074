package muclight

import (
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func (r *req) discoInfo(service bool) *xmlstream.Element {
	q := xmlstream.NewElement(nsDiscoInfo, "query")
	q.AddChild(xmlstream.NewElement(nsDiscoInfo, "identity",
		xmlstream.Attr{Local: "category", Value: "conference"},
		xmlstream.Attr{Local: "type", Value: "text"},
		xmlstream.Attr{Local: "name", Value: "MUC Light"}))
	feats := []string{nsDiscoInfo, NS}
	if service {
		feats = append(feats, nsDiscoItems)
	} else if f, ok := r.m.svc.getArchiver().(RoomFeaturer); ok {
		// The room archive's namespaces, as MongooseIM's mod_mam_muc adds them to a
		// room's disco#info.
		feats = append(feats, f.RoomFeatures(r.m.o.hostType, r.to.Bare())...)
	}
	for _, f := range feats {
		q.AddChild(xmlstream.NewElement(nsDiscoInfo, "feature", xmlstream.Attr{Local: "var", Value: f}))
	}
	return q
}

// discoItems lists the requester's rooms, paged with RSM (XEP-0059: max, after;
// rooms_per_page when no max).
func (r *req) discoItems(q *xmlstream.Element) (*xmlstream.Element, error) {
	max, after := r.m.o.roomsPerPage, ""
	set := q.Child(nsRSM, "set")
	if set != nil {
		if e := set.Child(nsRSM, "max"); e != nil {
			n, err := strconv.Atoi(e.Text())
			if err != nil || n < 0 {
				return nil, errBadRequest
			}
			if max == 0 || n < max {
				max = n
			}
		}
		if e := set.Child(nsRSM, "after"); e != nil {
			j, err := jid.Parse(e.Text())
			if err != nil {
				return nil, errBadRequest
			}
			after = j.Local()
		}
	}
	user := r.user()
	out := xmlstream.NewElement(nsDiscoItems, "query")
	var names []string
	var total int
	var rooms []store.MUCLightRoom
	err := r.m.env.Store().View(func(tx *bolt.Tx) error {
		names, total = store.MUCLightUserRooms(tx, r.parent, user, after, max)
		if max == 0 && set != nil {
			names = nil
		}
		for _, n := range names {
			room, _, err := store.GetMUCLightRoom(tx, r.parent, n)
			if err != nil {
				return err
			}
			rooms = append(rooms, room)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, n := range names {
		roomname, _ := rooms[i].ConfigValue("roomname")
		out.AddChild(xmlstream.NewElement(nsDiscoItems, "item",
			xmlstream.Attr{Local: "jid", Value: r.m.roomJID(r.parent, n)},
			xmlstream.Attr{Local: "name", Value: roomname},
			xmlstream.Attr{Local: "version", Value: rooms[i].Version}))
	}
	rs := xmlstream.NewElement(nsRSM, "set")
	if len(names) > 0 {
		first := textEl(nsRSM, "first", r.m.roomJID(r.parent, names[0]))
		rs.AddChild(first)
		rs.AddChild(textEl(nsRSM, "last", r.m.roomJID(r.parent, names[len(names)-1])))
	}
	rs.AddChild(textEl(nsRSM, "count", strconv.Itoa(total)))
	out.AddChild(rs)
	return out, nil
}
