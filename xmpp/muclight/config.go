package muclight

import (
	"context"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func configQuery(room *store.MUCLightRoom) *xmlstream.Element {
	q := xmlstream.NewElement(NSConfig, "query")
	q.AddChild(textEl(NSConfig, "version", room.Version))
	for _, f := range room.Config {
		q.AddChild(textEl(NSConfig, f.Name, f.Value))
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
