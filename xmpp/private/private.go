// Package private is mod_private: private XML storage (XEP-0049, jabber:iq:private),
// one stored element per user and namespace, in the replicated store.
package private

import (
	"context"
	"errors"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/storedxml"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// NS is the jabber:iq:private namespace.
const NS = "jabber:iq:private"

// Module is mod_private.
var Module = module.Module{Name: "mod_private", Start: start}

func start(env *module.Env, _ module.Options) error {
	env.HandleIQ(NS, router.ToAccount, func(ctx context.Context, q *router.IQ) *xmlstream.Element {
		return handle(ctx, env, q)
	})
	return nil
}

// Reserved reports whether XEP-0049 section 3 reserves ns: namespaces beginning with
// "jabber:" (jabber:iq:private, jabber:client, jabber:server among them) or
// "http://jabber.org/", and vcard-temp.
func Reserved(ns string) bool {
	return strings.HasPrefix(ns, "jabber:") || strings.HasPrefix(ns, "http://jabber.org/") || ns == "vcard-temp"
}

func handle(ctx context.Context, env *module.Env, q *router.IQ) *xmlstream.Element {
	if q.Payload.Local != "query" {
		return q.Error(stanza.BadRequest, "")
	}
	// XEP-0049 section 3: Forbidden for another user's data.
	if !q.OwnAccount() {
		return q.Error(stanza.Forbidden, "")
	}
	children := q.Payload.Elements()
	// "Bad Format" for a query without a child element.
	if len(children) == 0 {
		return q.Error(stanza.BadRequest, "a child element names the namespace")
	}
	for _, c := range children {
		if c.Space == "" || Reserved(c.Space) {
			return q.Error(stanza.NotAcceptable, "reserved namespace")
		}
	}
	domain, user := q.To.Domain(), q.To.Local()
	if q.El.Attr("type") == "set" {
		m := &store.SetPrivate{Domain: domain, User: user, Static: env.Directory().IsStatic(domain)}
		for _, c := range children {
			raw := c.String()
			if len(raw) > store.MaxPrivateSize {
				return q.Error(stanza.NotAcceptable, "private XML too large")
			}
			m.Entries = append(m.Entries, store.PrivateEntry{NS: c.Space, XML: raw})
		}
		_, err := env.Store().Apply(ctx, m)
		if errors.Is(err, store.ErrPrivateTooLarge) {
			return q.Error(stanza.NotAcceptable, "private XML too large")
		}
		if err != nil {
			env.Logger().Error("private XML write failed", "error", err)
			return q.Error(stanza.InternalServerError, "")
		}
		return q.Result(nil)
	}
	out := xmlstream.NewElement(NS, "query")
	err := env.Store().View(func(tx *bolt.Tx) error {
		for _, c := range children {
			raw := store.GetPrivate(tx, domain, user, c.Space)
			if raw == "" {
				// Nothing stored: the request's own element comes back (section 2.3).
				out.AddChild(c.Clone())
				continue
			}
			el, err := storedxml.Parse(raw)
			if err != nil {
				return err
			}
			out.AddChild(el)
		}
		return nil
	})
	if err != nil {
		env.Logger().Error("private XML read failed", "error", err)
		return q.Error(stanza.InternalServerError, "")
	}
	return q.Result(out)
}
