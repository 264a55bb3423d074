package muclight

import (
	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// maxRetries bounds compare-and-set retries of one request against concurrent writers.
const maxRetries = 8

// iq answers an IQ to the service or a room; the result is the reply to send.
func (r *req) iq() *xmlstream.Element {
	typ := r.el.Attr("type")
	if typ != "get" && typ != "set" {
		return nil
	}
	if r.to.Resource() != "" {
		return r.errReply(stanza.BadRequest, "Resource expected to be empty")
	}
	q := firstChild(r.el)
	if q == nil {
		return r.errReply(stanza.BadRequest, "")
	}
	service := r.to.Local() == ""
	var (
		payload *xmlstream.Element
		err     error
	)
	switch {
	case q.Space == nsDiscoInfo && typ == "get":
		payload = r.discoInfo(service)
	case q.Space == nsDiscoItems && typ == "get" && service:
		payload, err = r.discoItems(q)
	case q.Space == NSBlocking && service:
		if !r.m.o.blocking {
			return r.errReply(stanza.FeatureNotImplemented, "")
		}
		payload, err = r.blockingIQ(typ, q)
	case q.Space == NSCreate && typ == "set":
		name := r.to.Local()
		if service {
			name = newID()
		}
		var room string
		room, err = r.m.create(r.ctx, r.parent, name, r.user(), q)
		if err == nil {
			res := stanza.Result(r.el, nil)
			res.SetAttr("from", room)
			return res
		}
	case service:
		return r.errReply(stanza.FeatureNotImplemented, "")
	case q.Space == nsMAM1 || q.Space == nsMAM2:
		// The room archive: mod_mam decides who may use it (occupants, unless its
		// permission rules say otherwise).
		qr, ok := r.m.svc.getArchiver().(RoomQuerier)
		if !ok {
			return r.errReply(stanza.ServiceUnavailable, "")
		}
		room, err := r.m.readRoom(r.parent, r.to.Local(), "")
		if err != nil {
			return r.errReply(condition(err), "")
		}
		return qr.QueryRoom(r.ctx, r.m.o.hostType, r.to.Bare(), r.from, room.Aff(r.user()) != "", r.el)
	case q.Space == NSConfig && typ == "get":
		payload, err = r.getRoom(func(room *store.MUCLightRoom) *xmlstream.Element { return configQuery(room) }, q)
	case q.Space == NSAffs && typ == "get":
		payload, err = r.getRoom(func(room *store.MUCLightRoom) *xmlstream.Element { return affsQuery(room) }, q)
	case q.Space == NSInfo && typ == "get":
		payload, err = r.getRoom(infoQuery, q)
	case q.Space == NSConfig && typ == "set":
		err = r.m.setConfig(r.ctx, r.parent, r.to.Local(), r.user(), q)
	case q.Space == NSAffs && typ == "set":
		var changes []affChange
		if changes, err = parseAffs(q); err == nil {
			err = r.m.setAffs(r.ctx, r.parent, r.to.Local(), r.user(), changes)
		}
	case q.Space == NSDestroy && typ == "set":
		err = r.m.destroy(r.ctx, r.parent, r.to.Local(), r.user())
	default:
		return r.errReply(stanza.FeatureNotImplemented, "")
	}
	if err != nil {
		if condition(err) == stanza.InternalServerError {
			r.m.env.Logger().Warn("muclight request failed", "to", r.to.String(), "error", err)
		}
		return r.errReply(condition(err), "")
	}
	return stanza.Result(r.el, payload)
}

func firstChild(el *xmlstream.Element) *xmlstream.Element {
	if es := el.Elements(); len(es) > 0 {
		return es[0]
	}
	return nil
}

func (m *mod) roomJID(parent, room string) string { return room + "@" + m.o.prefix + parent }

func (m *mod) static(domain string) bool { return m.env.Directory().IsStatic(domain) }

// readRoom reads a room; a non-occupant gets errNotFound (MongooseIM does not reveal
// whether a room exists).
func (m *mod) readRoom(parent, name, user string) (store.MUCLightRoom, error) {
	var room store.MUCLightRoom
	var ok bool
	err := m.env.Store().View(func(tx *bolt.Tx) (err error) {
		room, ok, err = store.GetMUCLightRoom(tx, parent, name)
		return err
	})
	if err != nil {
		return room, err
	}
	if !ok || (user != "" && room.Aff(user) == "") {
		return room, errNotFound
	}
	return room, nil
}

func (r *req) getRoom(build func(*store.MUCLightRoom) *xmlstream.Element, q *xmlstream.Element) (*xmlstream.Element, error) {
	room, err := r.m.readRoom(r.parent, r.to.Local(), r.user())
	if err != nil {
		return nil, err
	}
	if v := q.Child(q.Space, "version"); v != nil && v.Text() == room.Version {
		return nil, nil // the client is up to date: an empty result
	}
	return build(&room), nil
}

func textEl(ns, local, text string) *xmlstream.Element {
	e := xmlstream.NewElement(ns, local)
	e.SetText(text)
	return e
}
