// Package carbons is mod_carboncopy (XEP-0280, urn:xmpp:carbons:2): a user's
// resources that enable carbons get a copy of every eligible message the user's other
// resources send (<sent/>) or receive (<received/>), wrapped in a XEP-0297
// <forwarded/>. The <private/> child and the XEP-0334 <no-copy/> hint exclude a
// message.
//
// Copies are delivered to every other session of the user, on any node of the
// cluster; the receive hook, which runs on the node that holds the session, drops
// them for a session that has not enabled carbons (the enablement is per-session
// state, kept where the session lives).
package carbons

import (
	"context"
	"strings"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Name is the module's name in the configuration.
const Name = "mod_carboncopy"

// Namespaces.
const (
	NS        = "urn:xmpp:carbons:2"
	NSForward = "urn:xmpp:forward:0"
	NSHints   = "urn:xmpp:hints"
)

// Module is mod_carboncopy's definition. It has no options of its own.
var Module = module.Module{Name: Name, Start: start}

// PrioReceive is the receive hook's priority: after CSI buffering (module.PrioLast),
// so that a stanza CSI holds back and later flushes through the chain again is copied
// once, when it is actually written.
const PrioReceive = module.PrioLast + 5

type enabledKey struct{}

type mod struct {
	r module.Router
}

func start(env *module.Env, _ module.Options) error {
	m := &mod{r: env.Router()}
	// XEP-0280 section 4: the feature is advertised by the server (the user's own
	// domain); the IQ goes to the user's own account (no 'to') or the domain.
	env.HandleIQ(NS, router.ToBoth, m.iq)
	env.OnUserSend(module.PrioArchive, m.send)
	env.OnUserReceive(PrioReceive, m.receive)
	// Carbons stay enabled when the session moves to another node (sm resumption).
	env.PortableValue("carbons.enabled", enabledKey{}, module.EncodeBool, module.DecodeBool)
	return nil
}

func (m *mod) iq(_ context.Context, iq *router.IQ) *xmlstream.Element {
	s, ok := iq.Session.(module.Session)
	if !ok || iq.To.Domain() != iq.From.Domain() || (iq.Target == router.ToAccount && !iq.OwnAccount()) {
		return iq.Error(stanza.NotAllowed, "")
	}
	if iq.El.Attr("type") != "set" {
		return iq.Error(stanza.BadRequest, "")
	}
	switch iq.Payload.Local {
	case "enable":
		s.SetValue(enabledKey{}, true)
	case "disable":
		s.SetValue(enabledKey{}, nil)
	default:
		return iq.Error(stanza.BadRequest, "")
	}
	return iq.Result(nil)
}

// Enabled reports whether a session enabled carbons.
func Enabled(s module.Session) bool { v, _ := s.Value(enabledKey{}).(bool); return v }

// eligible applies XEP-0280 section 6 (chat messages, normal messages with a body)
// and the exclusions of sections 7 and XEP-0334.
func eligible(el *xmlstream.Element) bool {
	if el.Local != "message" {
		return false
	}
	switch el.Attr("type") {
	case "chat":
	case "", "normal":
		if el.Child(stanza.NSClient, "body") == nil {
			return false
		}
	default:
		return false
	}
	return el.Child(NS, "private") == nil && el.Child(NSHints, "no-copy") == nil &&
		el.Child(NS, "sent") == nil && el.Child(NS, "received") == nil
}

// send copies a message a session sends to the user's other resources.
func (m *mod) send(s module.Session, el *xmlstream.Element) module.Verdict {
	if !eligible(el) {
		return module.Continue
	}
	own := s.JID()
	if to, err := jid.Parse(el.Attr("to")); err == nil && to.Bare() == own.Bare() {
		// A message between the user's own resources is no conversation to mirror.
		return module.Continue
	}
	for _, o := range m.r.Sessions(own.Domain(), own.Local()) {
		if o.JID() != own {
			o.Deliver(wrap("sent", own.Bare().String(), o.JID().String(), el))
		}
	}
	return module.Continue
}

// receive drops carbons for a session that did not enable them, and copies a
// message this session receives to the user's other resources.
func (m *mod) receive(s module.Session, el *xmlstream.Element) *xmlstream.Element {
	if el.Local != "message" {
		return el
	}
	own := s.JID()
	bare := own.Bare().String()
	if el.Attr("from") == bare && (el.Child(NS, "sent") != nil || el.Child(NS, "received") != nil) {
		if !Enabled(s) {
			return nil
		}
		return el
	}
	if !eligible(el) {
		return el
	}
	from, err := jid.Parse(el.Attr("from"))
	if err != nil || from.Bare() == own.Bare() {
		return el
	}
	to, err := jid.Parse(el.Attr("to"))
	if err != nil || to.Bare() != own.Bare() {
		return el
	}
	others := m.r.Sessions(own.Domain(), own.Local())
	if to.Resource() == "" {
		// A bare-JID message went to every available resource of the highest
		// priority (RFC 6121 section 8.5.2.1.1). Those have it; one of them, the
		// first by JID, copies it to the rest.
		best := -1
		for _, o := range others {
			if p, ok := priority(o); ok && p > best {
				best = p
			}
		}
		var first string
		for _, o := range others {
			if p, ok := priority(o); ok && p == best {
				if j := o.JID().String(); first == "" || strings.Compare(j, first) < 0 {
					first = j
				}
			}
		}
		if first != "" && first != own.String() {
			return el
		}
		for _, o := range others {
			if p, ok := priority(o); o.JID() != own && !(ok && p == best) {
				o.Deliver(wrap("received", bare, o.JID().String(), el))
			}
		}
		return el
	}
	for _, o := range others {
		if o.JID() != own {
			o.Deliver(wrap("received", bare, o.JID().String(), el))
		}
	}
	return el
}

func priority(s router.Session) (int, bool) {
	if p, ok := s.(router.Prioritized); ok {
		return p.Priority()
	}
	return 0, true
}

// wrap builds <message from=bare to=full type=...><dir xmlns=carbons:2><forwarded
// xmlns=forward:0>orig</forwarded></dir></message>. orig is shared, not copied.
func wrap(dir, from, to string, orig *xmlstream.Element) *xmlstream.Element {
	typ := orig.Attr("type")
	if typ == "" {
		typ = "normal"
	}
	w := xmlstream.NewElement(stanza.NSClient, "message",
		xmlstream.Attr{Local: "from", Value: from},
		xmlstream.Attr{Local: "to", Value: to},
		xmlstream.Attr{Local: "type", Value: typ})
	d := xmlstream.NewElement(NS, dir)
	f := xmlstream.NewElement(NSForward, "forwarded")
	f.AddChild(orig)
	d.AddChild(f)
	w.AddChild(d)
	return w
}
