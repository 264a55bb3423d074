package blocking

import (
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// matchKeys are the block list entries that cover j, in the order of XEP-0191
// section 3.4 (borrowed from XEP-0016): full JID, bare JID, domain/resource, domain.
// The parts of a parsed JID are already prepared, so they are joined as they are.
func matchKeys(j jid.JID) []string {
	keys := make([]string, 0, 4)
	if j.Local() != "" {
		if j.Resource() != "" {
			keys = append(keys, j.String())
		}
		keys = append(keys, j.Local()+"@"+j.Domain())
	}
	if j.Resource() != "" {
		keys = append(keys, j.Domain()+"/"+j.Resource())
	}
	return append(keys, j.Domain())
}

// answered reports whether the stanza type gets an error back: messages and IQ
// requests; never presence, IQ responses or errors.
func answered(el *xmlstream.Element) bool {
	switch typ := el.Attr("type"); el.Local {
	case "message":
		return typ != "error"
	case "iq":
		return typ == "get" || typ == "set"
	}
	return false
}

// userSend stops what the user sends to a blocked entity (section 3.6): messages and
// IQ requests come back with <not-acceptable/> and <blocked/>, presence is dropped
// except unavailable, which the blocked entity may see.
func (m *mod) userSend(s module.Session, el *xmlstream.Element) module.Verdict {
	raw := el.Attr("to")
	if raw == "" {
		return module.Continue
	}
	to, err := jid.Parse(raw)
	if err != nil {
		return module.Continue
	}
	if !m.ix.blocks(s.JID(), to) {
		return module.Continue
	}
	if el.Local == "presence" && el.Attr("type") == "unavailable" {
		return module.Continue
	}
	if answered(el) {
		r := stanza.ErrorReply(el, stanza.NotAcceptable, "")
		if e := r.Child(stanza.NSClient, "error"); e != nil {
			e.AddChild(xmlstream.NewElement(NSErrors, "blocked"))
		}
		s.Deliver(r)
	}
	return module.Stop
}

// incoming filters what reaches a user of the host type: nothing from an entity the
// user blocked (section 3.4; messages and IQ requests answered with
// <service-unavailable/>, as if the user did not exist), and nothing the server sends
// on behalf of a local user to an entity that user blocked (presence broadcasts and
// probes).
func (m *mod) incoming(from, to jid.JID, el *xmlstream.Element) (module.Verdict, *xmlstream.Element) {
	in := to.Local() != "" && m.ix.blocks(to, from)
	out := false
	if !in && from.Local() != "" && !(el.Local == "presence" && el.Attr("type") == "unavailable") {
		// Only a local user of a host type that runs mod_blocking has its own
		// list applied to what the server sends on its behalf.
		if ht, ok := m.env.Directory().HostTypeOf(from.Domain()); ok && m.env.Host().Enabled(ht, name) {
			out = m.ix.blocks(from, to)
		}
	}
	switch {
	case in && answered(el):
		return module.Stop, stanza.ErrorReply(el, stanza.ServiceUnavailable, "")
	case in || out:
		return module.Stop, nil
	}
	return module.Continue, nil
}
