package muclight

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func affsQuery(room *store.MUCLightRoom) *xmlstream.Element {
	q := xmlstream.NewElement(NSAffs, "query")
	q.AddChild(textEl(NSAffs, "version", room.Version))
	for _, a := range room.Affs {
		q.AddChild(userEl(NSAffs, a))
	}
	return q
}

func parseAffs(q *xmlstream.Element) ([]affChange, error) {
	var out []affChange
	for _, u := range q.ChildrenNamed(q.Space, "user") {
		a := u.Attr("affiliation")
		user := bareUser(u.Text())
		if user == "" || (a != "owner" && a != "member" && a != "none") {
			return nil, errBadRequest
		}
		out = append(out, affChange{user: user, aff: a})
	}
	if len(out) == 0 {
		return nil, errBadRequest
	}
	return out, nil
}

func (m *mod) setAffs(ctx context.Context, parent, name, actor string, changes []affChange) error {
	roomJID := m.roomJID(parent, name)
	var changed []store.MUCLightAff
	return m.update(ctx, parent, name, actor, func(tx *bolt.Tx, _ store.MUCLightRoom, after *store.MUCLightRoom) error {
		var err error
		changed, err = m.changeAffs(tx, parent, roomJID, after, actor, changes)
		return err
	}, func(before, after *store.MUCLightRoom) {
		m.notifyAffs(roomJID, before, after, changed)
	})
}
