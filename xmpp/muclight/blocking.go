package muclight

import (
	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// blockingIQ gets or changes the requester's MUC Light block list.
func (r *req) blockingIQ(typ string, q *xmlstream.Element) (*xmlstream.Element, error) {
	user := r.user()
	if typ == "get" {
		var items []store.MUCLightBlockItem
		_ = r.m.env.Store().View(func(tx *bolt.Tx) error {
			items = store.MUCLightBlocked(tx, r.parent, user)
			return nil
		})
		out := xmlstream.NewElement(NSBlocking, "query")
		for _, it := range items {
			e := textEl(NSBlocking, it.Kind, it.JID)
			e.SetAttr("action", "deny")
			out.AddChild(e)
		}
		return out, nil
	}
	var deny, allow []store.MUCLightBlockItem
	for _, e := range q.Elements() {
		if e.Local != "room" && e.Local != "user" {
			return nil, errBadRequest
		}
		j, err := jid.Parse(e.Text())
		if err != nil || j.Local() == "" {
			return nil, errBadRequest
		}
		it := store.MUCLightBlockItem{Kind: e.Local, JID: j.Bare().String()}
		switch e.Attr("action") {
		case "deny":
			deny = append(deny, it)
		case "allow":
			allow = append(allow, it)
		default:
			return nil, errBadRequest
		}
	}
	if len(deny)+len(allow) == 0 {
		return nil, errBadRequest
	}
	for _, c := range []struct {
		block bool
		items []store.MUCLightBlockItem
	}{{true, deny}, {false, allow}} {
		if len(c.items) == 0 {
			continue
		}
		if _, err := r.m.env.Store().Apply(r.ctx, &store.SetMUCLightBlocking{Domain: r.parent, User: user,
			Block: c.block, Items: c.items, Static: r.m.static(r.parent)}); err != nil {
			return nil, err
		}
	}
	return nil, nil
}
