// Package sic is mod_sic: server IP check (XEP-0279, urn:xmpp:sic:1). A client learns
// the IP address and port the server sees it connect from.
package sic

import (
	"context"
	"net"
	"strconv"

	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// NS is the urn:xmpp:sic:1 namespace.
const NS = "urn:xmpp:sic:1"

// Module is mod_sic.
var Module = module.Module{Name: "mod_sic", Start: start}

func start(env *module.Env, _ module.Options) error {
	env.HandleIQ(NS, router.ToBoth, handle)
	return nil
}

func handle(_ context.Context, q *router.IQ) *xmlstream.Element {
	if q.El.Attr("type") != "get" || q.Payload.Local != "address" {
		return q.Error(stanza.BadRequest, "")
	}
	// Only the client itself may ask, of its server or its own account (MongooseIM
	// answers anyone else with <not-allowed/>).
	if q.Target == router.ToAccount && !q.OwnAccount() {
		return q.Error(stanza.NotAllowed, "")
	}
	s, ok := q.Session.(module.Session)
	if !ok || s.RemoteAddr() == nil {
		return q.Error(stanza.NotAllowed, "")
	}
	r := xmlstream.NewElement(NS, "address")
	ip, port := split(s.RemoteAddr())
	ipEl := xmlstream.NewElement(NS, "ip")
	ipEl.AddText(ip)
	r.AddChild(ipEl)
	if port != "" {
		p := xmlstream.NewElement(NS, "port")
		p.AddText(port)
		r.AddChild(p)
	}
	return q.Result(r)
}

func split(a net.Addr) (ip, port string) {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String(), strconv.Itoa(t.Port)
	}
	h, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String(), ""
	}
	return h, p
}
