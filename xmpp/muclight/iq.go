package muclight

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
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
		// The room archive: occupants only (a non-occupant gets <item-not-found/>,
		// as for every other room request).
		qr, ok := r.m.svc.getArchiver().(RoomQuerier)
		if !ok {
			return r.errReply(stanza.ServiceUnavailable, "")
		}
		if _, err := r.m.readRoom(r.parent, r.to.Local(), r.user()); err != nil {
			return r.errReply(condition(err), "")
		}
		return qr.QueryRoom(r.ctx, r.m.o.hostType, r.to.Bare(), r.from, r.el)
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

func configQuery(room *store.MUCLightRoom) *xmlstream.Element {
	q := xmlstream.NewElement(NSConfig, "query")
	q.AddChild(textEl(NSConfig, "version", room.Version))
	for _, f := range room.Config {
		q.AddChild(textEl(NSConfig, f.Name, f.Value))
	}
	return q
}

func affsQuery(room *store.MUCLightRoom) *xmlstream.Element {
	q := xmlstream.NewElement(NSAffs, "query")
	q.AddChild(textEl(NSAffs, "version", room.Version))
	for _, a := range room.Affs {
		q.AddChild(userEl(NSAffs, a))
	}
	return q
}

func infoQuery(room *store.MUCLightRoom) *xmlstream.Element {
	q := xmlstream.NewElement(NSInfo, "query")
	q.AddChild(textEl(NSInfo, "version", room.Version))
	cfg := xmlstream.NewElement(NSInfo, "configuration")
	for _, f := range room.Config {
		cfg.AddChild(textEl(NSInfo, f.Name, f.Value))
	}
	q.AddChild(cfg)
	occ := xmlstream.NewElement(NSInfo, "occupants")
	for _, a := range room.Affs {
		occ.AddChild(userEl(NSInfo, a))
	}
	q.AddChild(occ)
	return q
}

func textEl(ns, local, text string) *xmlstream.Element {
	e := xmlstream.NewElement(ns, local)
	e.SetText(text)
	return e
}

// parseConfig reads <configuration> (or the #configuration query) fields against the
// schema; unknown fields and oversized configurations are bad requests.
func (m *mod) parseConfig(el *xmlstream.Element) ([]store.MUCLightField, error) {
	var out []store.MUCLightField
	size := 0
	for _, f := range el.Elements() {
		if f.Local == "version" || f.Local == "prev-version" {
			continue
		}
		v := f.Text()
		if err := m.checkField(f.Local, v); err != nil {
			return nil, err
		}
		if size += len(f.Local) + len(v); size > maxConfigBytes {
			return nil, fmt.Errorf("%w: configuration too large", errBadRequest)
		}
		out = append(out, store.MUCLightField{Name: f.Local, Value: v})
	}
	return out, nil
}

// checkField validates a configuration value against the schema: unknown fields and
// values of the wrong type are bad requests. The reserved fields all_can_configure and
// all_can_invite are per-room booleans.
func (m *mod) checkField(name, v string) error {
	typ := ""
	for _, s := range m.o.schema {
		if s.Name == name {
			typ = s.Type
		}
	}
	if name == "all_can_configure" || name == "all_can_invite" {
		typ = "boolean"
	}
	var err error
	switch typ {
	case "":
		return fmt.Errorf("%w: unknown field %q", errBadRequest, name)
	case "integer":
		_, err = strconv.ParseInt(v, 10, 64)
	case "float":
		_, err = strconv.ParseFloat(v, 64)
	case "boolean":
		_, err = strconv.ParseBool(v)
	}
	if err != nil {
		return fmt.Errorf("%w: field %q: %w", errBadRequest, name, err)
	}
	return nil
}

func mergeConfig(cfg []store.MUCLightField, set []store.MUCLightField) []store.MUCLightField {
	out := append([]store.MUCLightField(nil), cfg...)
	for _, s := range set {
		found := false
		for i := range out {
			if out[i].Name == s.Name {
				out[i].Value, found = s.Value, true
			}
		}
		if !found {
			out = append(out, s)
		}
	}
	return out
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

func (m *mod) setConfig(ctx context.Context, parent, name, actor string, q *xmlstream.Element) error {
	set, err := m.parseConfig(q)
	if err != nil {
		return err
	}
	if len(set) == 0 {
		return errBadRequest
	}
	roomJID := m.roomJID(parent, name)
	return m.update(ctx, parent, name, actor, func(_ *bolt.Tx, before store.MUCLightRoom, after *store.MUCLightRoom) error {
		all := m.o.allCanConfigure
		if v, ok := before.ConfigValue("all_can_configure"); ok {
			all = v == "true"
		}
		onlySubject := len(set) == 1 && set[0].Name == "subject"
		if before.Aff(actor) != "owner" && !all && !onlySubject {
			return errNotAllowed
		}
		after.Config = mergeConfig(after.Config, set)
		if configSize(after.Config) > maxConfigBytes {
			return fmt.Errorf("%w: configuration too large", errBadRequest)
		}
		return nil
	}, func(before, after *store.MUCLightRoom) {
		x := xmlstream.NewElement(NSConfig, "x")
		x.AddChild(textEl(NSConfig, "prev-version", before.Version))
		x.AddChild(textEl(NSConfig, "version", after.Version))
		for _, f := range set {
			x.AddChild(textEl(NSConfig, f.Name, f.Value))
		}
		msg := groupchat(roomJID, x)
		for _, a := range after.Affs {
			m.deliver(roomJID, a.User, msg)
		}
	})
}

// configSize is what maxConfigBytes bounds: the names and values of all fields.
func configSize(cfg []store.MUCLightField) int {
	n := 0
	for _, f := range cfg {
		n += len(f.Name) + len(f.Value)
	}
	return n
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

func (r *req) discoInfo(service bool) *xmlstream.Element {
	q := xmlstream.NewElement(nsDiscoInfo, "query")
	q.AddChild(xmlstream.NewElement(nsDiscoInfo, "identity",
		xmlstream.Attr{Local: "category", Value: "conference"},
		xmlstream.Attr{Local: "type", Value: "text"},
		xmlstream.Attr{Local: "name", Value: "MUC Light"}))
	feats := []string{nsDiscoInfo, NS}
	if service {
		feats = append(feats, nsDiscoItems)
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
