package muclight

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

var (
	errBadHost    = errors.New("mod_muc_light: host must be \"<prefix>@HOST@\"")
	errNotAllowed = errors.New("not allowed")
	errBadRequest = errors.New("bad request")
	errNotFound   = errors.New("item not found")
	errLastOwner  = errors.New("the last owner cannot leave")
)

// newID is a random version or stanza id, chosen before proposing.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// condition maps an operation error to the stanza error MongooseIM gives.
func condition(err error) stanza.Condition {
	switch {
	case errors.Is(err, errNotAllowed), errors.Is(err, errLastOwner),
		errors.Is(err, store.ErrMUCLightTooManyRooms):
		return stanza.NotAllowed
	case errors.Is(err, errBadRequest):
		return stanza.BadRequest
	case errors.Is(err, errNotFound), errors.Is(err, store.ErrMUCLightRoomNotFound):
		return stanza.ItemNotFound
	case errors.Is(err, store.ErrMUCLightRoomExists):
		return stanza.Conflict
	}
	return stanza.InternalServerError
}

// affChange is one requested affiliation: "owner", "member" or "none".
type affChange struct {
	user, aff string
}

// changeAffs applies the requested changes by actor to room (which is modified) and
// returns the users whose affiliation changed, with their new one. Rights and limits
// are MongooseIM's (muc_light_utils:change_aff_users): owners change anything;
// members may leave, and invite when all_can_invite; a single owner hands over
// ownership when allow_multiple_owners is off; when the last owner leaves, a member is
// promoted (promote_on_last_owner_leave) or the leave is refused.
func (m *mod) changeAffs(tx *bolt.Tx, parent, roomJID string, room *store.MUCLightRoom, actor string, changes []affChange) ([]store.MUCLightAff, error) {
	actorAff := room.Aff(actor)
	allInvite := m.o.allCanInvite
	if v, ok := room.ConfigValue("all_can_invite"); ok {
		allInvite = v == "true"
	}
	var changed []store.MUCLightAff
	set := func(user, aff string) {
		i := slices.IndexFunc(room.Affs, func(a store.MUCLightAff) bool { return a.User == user })
		switch {
		case aff == "none" && i >= 0:
			room.Affs = slices.Delete(room.Affs, i, i+1)
		case aff == "none":
			return
		case i >= 0:
			if room.Affs[i].Aff == aff {
				return
			}
			room.Affs[i].Aff = aff
		default:
			room.Affs = append(room.Affs, store.MUCLightAff{User: user, Aff: aff})
		}
		changed = slices.DeleteFunc(changed, func(a store.MUCLightAff) bool { return a.User == user })
		changed = append(changed, store.MUCLightAff{User: user, Aff: aff})
	}
	for _, c := range changes {
		cur := room.Aff(c.user)
		switch {
		case actorAff == "owner":
		case c.user == actor && c.aff == "none":
		case allInvite && actorAff == "member" && cur == "" && c.aff == "member":
		default:
			return nil, errNotAllowed
		}
		if cur == "" && c.aff != "none" && m.o.blocking && tx != nil &&
			(store.MUCLightIsBlocked(tx, parent, c.user, "room", roomJID) ||
				store.MUCLightIsBlocked(tx, parent, c.user, "user", actor)) {
			continue // the invitee blocked this room or the inviter: skipped, as in MongooseIM
		}
		if c.aff == "owner" && !m.o.multipleOwners {
			for _, a := range slices.Clone(room.Affs) {
				if a.Aff == "owner" && a.User != c.user {
					set(a.User, "member")
				}
			}
		}
		set(c.user, c.aff)
	}
	if !slices.ContainsFunc(room.Affs, func(a store.MUCLightAff) bool { return a.Aff == "owner" }) &&
		len(room.Affs) > 0 && !m.o.equalOccupants {
		if !m.o.promote {
			return nil, errLastOwner
		}
		set(room.Affs[0].User, "owner")
	}
	if m.o.maxOccupants > 0 && len(room.Affs) > m.o.maxOccupants {
		return nil, errNotAllowed
	}
	return changed, nil
}

// affsX builds <x xmlns='#affiliations'> with versions and users.
func affsX(ns, prev, ver string, users []store.MUCLightAff) *xmlstream.Element {
	x := xmlstream.NewElement(ns, "x")
	if prev != "" {
		p := xmlstream.NewElement(ns, "prev-version")
		p.SetText(prev)
		x.AddChild(p)
	}
	if ver != "" {
		v := xmlstream.NewElement(ns, "version")
		v.SetText(ver)
		x.AddChild(v)
	}
	for _, u := range users {
		x.AddChild(userEl(ns, u))
	}
	return x
}

func userEl(ns string, a store.MUCLightAff) *xmlstream.Element {
	e := xmlstream.NewElement(ns, "user", xmlstream.Attr{Local: "affiliation", Value: a.Aff})
	e.SetText(a.User)
	return e
}

// groupchat wraps payloads in a groupchat message from the room (with an empty body, as
// MongooseIM's notifications have).
func groupchat(from string, payloads ...*xmlstream.Element) *xmlstream.Element {
	msg := xmlstream.NewElement("jabber:client", "message",
		xmlstream.Attr{Local: "from", Value: from},
		xmlstream.Attr{Local: "type", Value: "groupchat"},
		xmlstream.Attr{Local: "id", Value: newID()})
	for _, p := range payloads {
		msg.AddChild(p)
	}
	msg.AddChild(xmlstream.NewElement("jabber:client", "body"))
	return msg
}

// notifyAffs sends the affiliation notifications of a change from before to after:
// occupants who stay get prev-version, version and every change; newcomers and
// removed users get the version and their own affiliation only.
func (m *mod) notifyAffs(roomJID string, before, after *store.MUCLightRoom, changed []store.MUCLightAff) {
	for _, c := range changed {
		if before.Aff(c.User) == "" || c.Aff == "none" {
			m.deliver(roomJID, c.User, groupchat(roomJID, affsX(NSAffs, "", after.Version, []store.MUCLightAff{c})))
		}
	}
	if len(changed) == 0 {
		return
	}
	x := groupchat(roomJID, affsX(NSAffs, before.Version, after.Version, changed))
	for _, a := range after.Affs {
		if before.Aff(a.User) != "" {
			m.deliver(roomJID, a.User, x)
		}
	}
}

// bareUser parses a user's bare JID from text, "" when invalid.
func bareUser(s string) string {
	j, err := jid.Parse(s)
	if err != nil || j.Local() == "" {
		return ""
	}
	return j.Bare().String()
}
