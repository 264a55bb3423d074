// Package isolation is mod_domain_isolation: a router filter that keeps the tenants of
// a multi-tenant service apart. A stanza whose sender and recipient belong to
// different domains is dropped, and the sender is told so with
// <service-unavailable/> "Filtered by the domain isolation", as MongooseIM does
// (src/mod_domain_isolation.erl; docs/modules.md).
//
// The filter runs for the recipient domain's host type, so isolation is enforced
// where the module is enabled for the destination, on whichever node routes the
// stanza (the router runs the same filters for stanzas forwarded by other nodes).
package isolation

import (
	"strings"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Name is the module's name in the configuration.
const Name = "mod_domain_isolation"

// Text is the error text the sender of a filtered stanza gets, MongooseIM's.
const Text = "Filtered by the domain isolation"

// Module is mod_domain_isolation's definition. It has no options.
var Module = module.Module{Name: Name, Start: start}

// Subdomains is an optional interface of the module.Directory: a directory that
// registers service subdomains (muclight.a.com for a.com, say) names their parent
// domain. Without it, Parent's label rule applies.
type Subdomains interface {
	ParentDomain(subdomain string) (parent string, ok bool)
}

func start(env *module.Env, _ module.Options) error {
	dir := env.Directory()
	// router_stanza_dropped, by the recipient's host type (this one).
	dropped := env.Metrics().StanzaDropped.For(env.HostType())
	env.OnIncoming(module.PrioFirst, func(from, to jid.JID, el *xmlstream.Element) (module.Verdict, *xmlstream.Element) {
		if !Crosses(dir, from.Domain(), to.Domain()) {
			return module.Continue, nil
		}
		dropped.Inc()
		// The router sends the reply from the original 'to' to the original 'from'
		// without running the filters again, and never answers an error stanza.
		return module.Stop, stanza.ErrorReply(el, stanza.ServiceUnavailable, Text)
	})
	return nil
}

// Crosses reports whether a stanza from domain a to domain b crosses tenants: the
// domains differ and so do their parents (see Parent).
func Crosses(dir module.Directory, a, b string) bool {
	if a == b {
		return false
	}
	return Parent(dir, a) != Parent(dir, b)
}

// Parent maps a domain to the tenant it belongs to. When the directory registers
// subdomains (Subdomains), a registered one belongs to its parent. A domain in
// service (static or an enabled dynamic domain) is its own tenant. Otherwise a name of the form
// "<prefix>.<domain in service>" is a subdomain of the nearest such domain: labels
// are stripped from the left until what remains is in service, so muclight.a.com
// and x.muclight.a.com belong to a.com. A name with no such suffix is its own
// tenant. Senders are local sessions or the server itself, so their domains are
// never spoofed.
func Parent(dir module.Directory, domain string) string {
	// Registered subdomains first: a directory that registers them may also route
	// them, and a routable subdomain must still count as its parent.
	if sd, ok := dir.(Subdomains); ok {
		if p, ok := sd.ParentDomain(domain); ok {
			return p
		}
	}
	if _, ok := dir.HostTypeOf(domain); ok {
		return domain
	}
	for rest := domain; ; {
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			return domain
		}
		rest = rest[i+1:]
		if _, ok := dir.HostTypeOf(rest); ok {
			return rest
		}
	}
}
