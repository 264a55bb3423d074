// Package presence is mod_presence: the server side of RFC 6121 section 4. It keeps
// each session's availability and priority (which the router's bare-JID delivery of
// section 8.5 follows), broadcasts presence to the contacts subscribed to it and to
// the user's own resources, probes the contacts the user is subscribed to when a
// resource becomes available, answers probes on behalf of available resources,
// tracks directed presence, and sends unavailable presence for a session that goes
// away.
//
// Subscriptions are read from the roster in the store (store.RosterItem), which
// mod_roster maintains; with mod_roster off, presence goes to the user's own resources
// only.
package presence

import (
	"strconv"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Name is the module's name in the configuration.
const Name = "mod_presence"

// Module is mod_presence's definition. It has no options.
var Module = module.Module{Name: Name, Start: start}

type mod struct {
	env  *module.Env
	host *module.Host
	r    module.Router
}

func start(env *module.Env, _ module.Options) error {
	m := &mod{env: env, host: env.Host(), r: env.Router()}
	env.ManagePresence()
	env.OnUserSend(module.PrioPresence, m.userSend)
	env.OnPresence(module.PrioPresence, m.broadcast)
	env.OnIncoming(module.PrioPresence, m.incoming)
	env.OnUserReceive(module.PrioPresence, m.receive)
	env.OnSessionClosed(m.closed)
	env.PortableValue("presence.directed", directedKey{}, encodeDirected, decodeDirected)
	return nil
}

// Presence types (RFC 6121 section 4.7.1; "available" is not one, but MongooseIM
// accepts it for old clients, and so does this module).
func validType(t string) bool {
	switch t {
	case "", "available", "unavailable", "probe", "error",
		"subscribe", "subscribed", "unsubscribe", "unsubscribed":
		return true
	}
	return false
}

func isAvailable(t string) bool { return t == "" || t == "available" }

// userSend sees every presence a client sends.
func (m *mod) userSend(s module.Session, el *xmlstream.Element) module.Verdict {
	if el.Local != "presence" {
		return module.Continue
	}
	typ := el.Attr("type")
	if !validType(typ) {
		s.Deliver(stanza.ErrorReply(el, stanza.BadRequest, "Invalid presence type"))
		return module.Stop
	}
	toAttr := el.Attr("to")
	if toAttr == "" {
		// The router hands it to broadcast.
		return module.Continue
	}
	to, err := jid.Parse(toAttr)
	if err != nil {
		return module.Continue
	}
	own := s.JID().Bare()
	switch {
	case to == own:
		// Presence to one's own bare JID is a broadcast, as MongooseIM treats it:
		// without its 'to', the router hands it to broadcast.
		if isAvailable(typ) || typ == "unavailable" {
			el.RemoveAttr("to")
			return module.Continue
		}
		return module.Stop
	case isAvailable(typ):
		directedOf(s).add(to)
	case typ == "unavailable":
		directedOf(s).remove(to)
	case typ == "subscribe" || typ == "subscribed" || typ == "unsubscribe" || typ == "unsubscribed":
		// Only reached without mod_roster: still sent from the bare JID to the bare
		// JID (RFC 6121 section 3.1.2).
		el.SetAttr("from", own.String())
		el.SetAttr("to", to.Bare().String())
	}
	return module.Continue
}

// broadcast handles presence without 'to' (RFC 6121 sections 4.2 to 4.5).
func (m *mod) broadcast(s module.Session, el *xmlstream.Element) {
	typ := el.Attr("type")
	switch {
	case isAvailable(typ):
		m.available(s, el)
	case typ == "unavailable":
		m.unavailable(s, el, module.Close{})
	}
	// Other types without 'to' mean nothing to the server (probes and
	// subscriptions need a contact); they are dropped.
}

func (m *mod) available(s module.Session, el *xmlstream.Element) {
	full := s.JID()
	from := full.String()
	if el.Attr("from") != from || el.Attr("to") != "" || el.Attr("type") != "" {
		// Stored as the broadcast it is: from the full JID, to nobody, and without
		// the type="available" some old clients send (not an RFC 6121 type).
		el = module.Readdress(el, from, "")
		el.RemoveAttr("type")
	}
	initial := s.Presence() == nil
	m.host.SetPresence(s, el, priorityOf(el))
	own := full.Bare()
	contacts := m.contacts(own)
	if initial {
		// Section 4.2.2: probe the contacts whose presence the user gets, and the
		// user's own other resources.
		probe := func(to string) {
			_ = m.r.Deliver(xmlstream.NewElement(stanza.NSClient, "presence",
				xmlstream.Attr{Local: "type", Value: "probe"},
				xmlstream.Attr{Local: "from", Value: from},
				xmlstream.Attr{Local: "to", Value: to}))
		}
		for _, c := range contacts {
			if c.sub.HasTo() {
				probe(c.jid)
			}
		}
		probe(own.String())
	}
	// Sections 4.2.2 and 4.4.2: to the subscribed contacts and to all the user's
	// available resources, including this one.
	for _, c := range contacts {
		if c.sub.HasFrom() {
			_ = m.r.Deliver(module.Readdress(el, from, c.jid))
		}
	}
	_ = m.r.Deliver(module.Readdress(el, from, own.String()))
}

// unavailable ends a session's availability (section 4.5.2): the unavailable presence
// goes where the available presence went, subscribers, own resources and directed
// presence recipients alike.
func (m *mod) unavailable(s module.Session, el *xmlstream.Element, c module.Close) {
	full := s.JID()
	from := full.String()
	was := s.Presence() != nil
	var targets []jid.JID
	if d, ok := s.Value(directedKey{}).(*directed); ok {
		targets = d.take()
	}
	if !was && len(targets) == 0 {
		return
	}
	if el == nil {
		el = xmlstream.NewElement(stanza.NSClient, "presence", xmlstream.Attr{Local: "type", Value: "unavailable"})
		if c.Replaced {
			st := xmlstream.NewElement(stanza.NSClient, "status")
			st.AddText(router.ReplacedText)
			el.AddChild(st)
		}
	}
	m.host.SetPresence(s, nil, 0)
	own := full.Bare()
	sent := map[string]bool{}
	send := func(to string) {
		if !sent[to] {
			sent[to] = true
			_ = m.r.Deliver(module.Readdress(el, from, to))
		}
	}
	if was {
		for _, c := range m.contacts(own) {
			if c.sub.HasFrom() {
				send(c.jid)
			}
		}
		send(own.String())
	}
	for _, j := range targets {
		if !sent[j.Bare().String()] {
			send(j.String())
		}
	}
}

// closed sends unavailable presence for a session that ended without it.
func (m *mod) closed(s module.Session, c module.Close) {
	if c.Replaced {
		// The new session of the same full JID may already be available; its
		// presence must not be followed by this one's unavailable.
		if other, ok := m.r.Lookup(s.JID()); ok && other != router.Session(s) {
			if ms, ok := other.(module.Session); ok && ms.Presence() != nil {
				m.host.SetPresence(s, nil, 0)
				return
			}
		}
	}
	m.unavailable(s, nil, c)
}

// incoming answers presence probes for local accounts (section 4.3.2).
func (m *mod) incoming(from, to jid.JID, el *xmlstream.Element) (module.Verdict, *xmlstream.Element) {
	if el.Local != "presence" || el.Attr("type") != "probe" || to.Local() == "" {
		return module.Continue, nil
	}
	if to.Resource() != "" {
		// A probe is about an account: handle it as addressed to the bare JID.
		_ = m.r.Deliver(module.Readdress(el, from.String(), to.Bare().String()))
		return module.Stop, nil
	}
	if !m.env.Accounts().UserExists(to.Domain(), to.Local()) {
		return module.Stop, nil
	}
	if from.Bare() != to && !m.subscribed(to, from.Bare()) {
		// Not subscribed: nothing is revealed, and the prober learns it has no
		// subscription (section 4.3.2, SHOULD).
		_ = m.r.Deliver(xmlstream.NewElement(stanza.NSClient, "presence",
			xmlstream.Attr{Local: "type", Value: "unsubscribed"},
			xmlstream.Attr{Local: "from", Value: to.String()},
			xmlstream.Attr{Local: "to", Value: from.Bare().String()}))
		return module.Stop, nil
	}
	// The router hands the probe to the available resources, and each answers in
	// receive. A contact with none available gets no answer (the RFC's other choice,
	// the last unavailable presence, is mod_last's to give).
	return module.Continue, nil
}

// receive answers a probe that reached a session with the session's last presence;
// probes are the server's business and never reach clients.
func (m *mod) receive(s module.Session, el *xmlstream.Element) *xmlstream.Element {
	if el.Local != "presence" || el.Attr("type") != "probe" {
		return el
	}
	prober := el.Attr("from")
	p := s.Presence()
	if p == nil || prober == "" || prober == s.JID().String() {
		return nil
	}
	_ = m.r.Deliver(module.Readdress(p, s.JID().String(), prober))
	return nil
}

// subscribed reports whether contact receives user's presence ('from' or 'both').
func (m *mod) subscribed(user, contact jid.JID) bool {
	ok := false
	_ = m.env.Store().View(func(tx *bolt.Tx) error {
		it, found, err := store.GetRosterItem(tx, user.Domain(), user.Local(), contact.String())
		ok = err == nil && found && it.Sub.HasFrom()
		return nil
	})
	return ok
}

type contact struct {
	jid string
	sub store.Subscription
}

// contacts lists the user's contacts with a subscription either way.
func (m *mod) contacts(user jid.JID) []contact {
	var out []contact
	err := m.env.Store().View(func(tx *bolt.Tx) error {
		return store.ForEachRosterSubscription(tx, user.Domain(), user.Local(), func(c string, sub store.Subscription) error {
			out = append(out, contact{c, sub})
			return nil
		})
	})
	if err != nil {
		m.env.Logger().Error("presence: read roster", "user", user, "error", err)
	}
	return out
}

// priorityOf reads <priority/> (section 4.7.2.3): -128 to 127, anything else 0.
func priorityOf(el *xmlstream.Element) int {
	p := el.Child(stanza.NSClient, "priority")
	if p == nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(p.Text()))
	if err != nil || n < -128 || n > 127 {
		return 0
	}
	return n
}

// directed is the set of addresses a session sent available directed presence to
// (section 4.6), which get its unavailable presence.
type directed struct {
	mu  sync.Mutex
	set map[jid.JID]struct{}
}

type directedKey struct{}

func directedOf(s module.Session) *directed {
	if d, ok := s.Value(directedKey{}).(*directed); ok {
		return d
	}
	// Only the session's own goroutine creates it (sends and close run there).
	d := &directed{set: map[jid.JID]struct{}{}}
	s.SetValue(directedKey{}, d)
	return d
}

func (d *directed) add(j jid.JID) {
	d.mu.Lock()
	d.set[j] = struct{}{}
	d.mu.Unlock()
}

func (d *directed) remove(j jid.JID) {
	d.mu.Lock()
	delete(d.set, j)
	d.mu.Unlock()
}

func (d *directed) take() []jid.JID {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]jid.JID, 0, len(d.set))
	for j := range d.set {
		out = append(out, j)
	}
	clear(d.set)
	return out
}
