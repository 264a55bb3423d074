// Package vcard is mod_vcard: vcard-temp (XEP-0054) profiles kept in the replicated
// store. Anyone may read a local account's vCard; only the account sets its own.
// MongooseIM's vjud search service (the `host` option) is not implemented.
package vcard

import (
	"context"
	"errors"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/storedxml"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// NS is the vcard-temp namespace.
const NS = "vcard-temp"

// Module is mod_vcard.
var Module = module.Module{Name: "mod_vcard", Start: start}

func start(env *module.Env, _ module.Options) error {
	env.HandleIQ(NS, router.ToBoth, func(ctx context.Context, q *router.IQ) *xmlstream.Element {
		return handle(ctx, env, q)
	})
	return nil
}

func handle(ctx context.Context, env *module.Env, q *router.IQ) *xmlstream.Element {
	if q.Payload.Local != "vCard" {
		return q.Error(stanza.BadRequest, "")
	}
	if q.El.Attr("type") == "set" {
		return set(ctx, env, q)
	}
	if q.Target == router.ToServer {
		// The server's own vCard, as MongooseIM answers for its domains.
		v := xmlstream.NewElement(NS, "vCard")
		fn := xmlstream.NewElement(NS, "FN")
		fn.AddText("mongoose-go")
		v.AddChild(fn)
		return q.Result(v)
	}
	var raw string
	if err := env.Store().View(func(tx *bolt.Tx) error {
		raw = store.GetVCard(tx, q.To.Domain(), q.To.Local())
		return nil
	}); err != nil {
		env.Logger().Error("vCard read failed", "error", err)
		return q.Error(stanza.InternalServerError, "")
	}
	if raw == "" {
		// XEP-0054 section 3.1 allows an empty vCard or <item-not-found/>; MongooseIM
		// returns the empty vCard, which clients handle best.
		return q.Result(xmlstream.NewElement(NS, "vCard"))
	}
	el, err := storedxml.Parse(raw)
	if err != nil {
		env.Logger().Error("stored vCard unreadable", "domain", q.To.Domain(), "user", q.To.Local(), "error", err)
		return q.Error(stanza.InternalServerError, "")
	}
	return q.Result(el)
}

func set(ctx context.Context, env *module.Env, q *router.IQ) *xmlstream.Element {
	// XEP-0054 section 3.2: only the owner publishes; a set to the server or to
	// someone else is not allowed.
	if !q.OwnAccount() {
		return q.Error(stanza.Forbidden, "")
	}
	v := q.Payload.Clone()
	raw := v.String()
	if len(raw) > store.MaxVCardSize {
		// The request is understood but fails a criterion of the server (its size):
		// RFC 6120 section 8.3.3.9's <not-acceptable/>. <policy-violation/> is meant
		// for local service policies on content and would tell the client less.
		return q.Error(stanza.NotAcceptable, "vCard too large")
	}
	_, err := env.Store().Apply(ctx, &store.SetVCard{Domain: q.To.Domain(), User: q.To.Local(), XML: raw,
		Static: env.Directory().IsStatic(q.To.Domain())})
	if errors.Is(err, store.ErrVCardTooLarge) {
		return q.Error(stanza.NotAcceptable, "vCard too large")
	}
	if err != nil {
		env.Logger().Error("vCard write failed", "error", err)
		return q.Error(stanza.InternalServerError, "")
	}
	return q.Result(nil)
}
