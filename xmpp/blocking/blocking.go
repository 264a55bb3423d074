// Package blocking is mod_blocking: simple communications blocking (XEP-0191,
// urn:xmpp:blocking). A user's block list is in the replicated store; the module's
// hooks drop what blocked entities send to the user and what the user would send
// them.
package blocking

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Namespaces of XEP-0191.
const (
	NS       = "urn:xmpp:blocking"
	NSErrors = "urn:xmpp:blocking:errors"
)

// Module is mod_blocking.
var Module = module.Module{Name: name, Start: start}

const name = "mod_blocking"

// interestedKey marks a session that retrieved the block list: only those get pushes
// (XEP-0191 section 3.3).
type interestedKey struct{}

type mod struct {
	env *module.Env
	ix  *index
}

func start(env *module.Env, _ module.Options) error {
	m := &mod{env: env, ix: sharedIndex(env)}
	env.HandleIQ(NS, router.ToAccount, m.handleIQ)
	// Clients look for the feature at their server (XEP-0191 section 2).
	env.AddFeature(router.ToServer, NS)
	env.OnUserReceive(module.PrioFirst, m.receive)
	env.PortableValue("blocking.interested", interestedKey{}, module.EncodeBool, module.DecodeBool)
	env.OnUserSend(module.PrioFirst, m.userSend)
	env.OnIncoming(module.PrioFirst, m.incoming)
	return nil
}

func (m *mod) handleIQ(ctx context.Context, q *router.IQ) *xmlstream.Element {
	if !q.OwnAccount() {
		return q.Error(stanza.Forbidden, "")
	}
	typ := q.El.Attr("type")
	switch {
	case typ == "get" && q.Payload.Local == "blocklist":
		return m.get(q)
	case typ == "set" && (q.Payload.Local == "block" || q.Payload.Local == "unblock"):
		return m.set(ctx, q)
	}
	return q.Error(stanza.BadRequest, "")
}

func (m *mod) get(q *router.IQ) *xmlstream.Element {
	if s, ok := q.Session.(module.Session); ok {
		s.SetValue(interestedKey{}, true)
	}
	var list []string
	if err := m.env.Store().View(func(tx *bolt.Tx) error {
		list = store.Blocklist(tx, q.To.Domain(), q.To.Local())
		return nil
	}); err != nil {
		return q.Error(stanza.InternalServerError, "")
	}
	return q.Result(itemsElement("blocklist", list))
}

func itemsElement(local string, jids []string) *xmlstream.Element {
	el := xmlstream.NewElement(NS, local)
	for _, j := range jids {
		el.AddChild(xmlstream.NewElement(NS, "item", xmlstream.Attr{Local: "jid", Value: j}))
	}
	return el
}

func (m *mod) set(ctx context.Context, q *router.IQ) *xmlstream.Element {
	block := q.Payload.Local == "block"
	items := q.Payload.ChildrenNamed(NS, "item")
	// Section 3.3: a block without items is a bad request; section 3.5: an unblock
	// without items empties the list.
	if block && len(items) == 0 {
		return q.Error(stanza.BadRequest, "")
	}
	var jids []string
	var parsed []jid.JID
	seen := map[string]bool{}
	for _, it := range items {
		j, err := jid.Parse(it.Attr("jid"))
		if err != nil {
			return q.Error(stanza.JIDMalformed, "")
		}
		if s := j.String(); !seen[s] {
			seen[s] = true
			jids = append(jids, s)
			parsed = append(parsed, j)
		}
	}
	user := q.To
	_, err := m.env.Store().Apply(ctx, &store.SetBlocked{Domain: user.Domain(), User: user.Local(), Block: block, JIDs: jids,
		Static: m.env.Directory().IsStatic(user.Domain())})
	if errors.Is(err, store.ErrBlocklistFull) {
		return q.Error(stanza.ResourceConstraint, "too many blocked JIDs")
	}
	if err != nil {
		m.env.Logger().Error("block list write failed", "error", err)
		return q.Error(stanza.InternalServerError, "")
	}
	if block {
		m.goneAway(user, parsed)
	}
	m.push(user, q.Payload.Local, jids)
	return q.Result(nil)
}

// goneAway sends the blocked entities unavailable presence from the user's available
// resources (XEP-0191 section 3.3): they must not go on seeing the user online.
func (m *mod) goneAway(user jid.JID, blocked []jid.JID) {
	for _, s := range m.env.Router().Sessions(user.Domain(), user.Local()) {
		p, ok := s.(router.Prioritized)
		if !ok {
			continue
		}
		if _, avail := p.Priority(); !avail {
			continue
		}
		for _, b := range blocked {
			if b.Local() == "" {
				continue
			}
			el := xmlstream.NewElement(stanza.NSClient, "presence",
				xmlstream.Attr{Local: "from", Value: s.JID().String()},
				xmlstream.Attr{Local: "to", Value: b.String()},
				xmlstream.Attr{Local: "type", Value: "unavailable"})
			_ = m.env.Router().Deliver(el)
		}
	}
}

// push tells every resource of the user about the change; receive drops it for those
// that never asked for the list.
func (m *mod) push(user jid.JID, local string, jids []string) {
	for _, s := range m.env.Router().Sessions(user.Domain(), user.Local()) {
		el := xmlstream.NewElement(stanza.NSClient, "iq",
			xmlstream.Attr{Local: "type", Value: "set"},
			xmlstream.Attr{Local: "id", Value: pushID()},
			xmlstream.Attr{Local: "from", Value: user.String()},
			xmlstream.Attr{Local: "to", Value: s.JID().String()})
		el.AddChild(itemsElement(local, jids))
		_ = m.env.Router().Deliver(el)
	}
}

func pushID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "block-push-" + hex.EncodeToString(b)
}

func (m *mod) receive(s module.Session, el *xmlstream.Element) *xmlstream.Element {
	if el.Local == "iq" && el.Attr("type") == "set" && s.Value(interestedKey{}) == nil &&
		el.Attr("from") == s.JID().Bare().String() &&
		(el.Child(NS, "block") != nil || el.Child(NS, "unblock") != nil) {
		return nil
	}
	return el
}
