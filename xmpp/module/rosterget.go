package module

import (
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// RosterGetHook returns extra jabber:iq:roster <item/> elements for user's roster get
// result (MongooseIM's roster_get hook: mod_muc_light's rooms_in_rosters adds the
// user's rooms). The items are not stored in the roster, so they are not versioned.
type RosterGetHook func(user jid.JID) []*xmlstream.Element

// OnRosterGet registers fn; the roster module consults it when building a roster get
// result.
func (e *Env) OnRosterGet(fn RosterGetHook) {
	e.check()
	e.t.rosterGet = append(e.t.rosterGet, fn)
}

// RosterGet returns the items every OnRosterGet hook of hostType adds for user, in
// registration order.
func (h *Host) RosterGet(hostType string, user jid.JID) []*xmlstream.Element {
	t := h.table(hostType)
	if t == nil {
		return nil
	}
	var out []*xmlstream.Element
	for _, fn := range t.rosterGet {
		h.safely("roster get", func() { out = append(out, fn(user)...) })
	}
	return out
}
