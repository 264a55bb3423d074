// Package ping answers XEP-0199 pings addressed to the server or to an account's
// bare JID (which the server answers on the account's behalf, as MongooseIM's
// mod_ping does). Pings to a full JID are routed to that client and never reach
// this package.
package ping

import (
	"context"

	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Register installs the handler for domains of hostType ("" for every host type).
func Register(r *router.Router, hostType string) {
	r.HandleIQ(hostType, stanza.NSPing, router.ToBoth, Handle)
}

// Handle answers <iq type="get"><ping xmlns="urn:xmpp:ping"/></iq> with an empty
// result. A ping of type set is not-allowed, as in ejabberd and MongooseIM.
func Handle(_ context.Context, q *router.IQ) *xmlstream.Element {
	switch {
	case q.Payload.Local != "ping":
		return q.Error(stanza.BadRequest, "")
	case q.El.Attr("type") != "get":
		return q.Error(stanza.NotAllowed, "")
	}
	return q.Result(nil)
}
