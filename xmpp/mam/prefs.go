package mam

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Preferences (XEP-0313 section 6) are stored in the replicated store whatever
// user_prefs_store says (MongooseIM answers <feature-not-implemented/> to a set
// without a prefs store; here there is always one). Without stored preferences the
// default is "always", as MongooseIM's.

func (m *mod) prefs(owner jid.JID) store.MAMPrefs {
	var p store.MAMPrefs
	var ok bool
	_ = m.st.View(func(tx *bolt.Tx) error {
		p, ok = store.GetMAMPrefs(tx, owner.Domain(), owner.Local())
		return nil
	})
	if !ok {
		p = store.MAMPrefs{Default: "always"}
	}
	return p
}

func prefsElement(ns string, p store.MAMPrefs) *xmlstream.Element {
	el := xmlstream.NewElement(ns, "prefs", xmlstream.Attr{Local: "default", Value: p.Default})
	for _, l := range []struct {
		name string
		jids []string
	}{{"always", p.Always}, {"never", p.Never}} {
		e := xmlstream.NewElement(ns, l.name)
		for _, j := range l.jids {
			je := xmlstream.NewElement(ns, "jid")
			je.AddText(j)
			e.AddChild(je)
		}
		el.AddChild(e)
	}
	return el
}

func (m *mod) prefsElement(ns string, owner jid.JID) *xmlstream.Element {
	return prefsElement(ns, m.prefs(owner))
}

func (m *mod) setPrefs(ctx context.Context, iq *router.IQ) *xmlstream.Element {
	p := iq.Payload
	prefs := store.MAMPrefs{Default: p.Attr("default")}
	switch prefs.Default {
	case "always", "never", "roster":
	default:
		return iq.Error(stanza.BadRequest, "Invalid default attribute")
	}
	list := func(name string) ([]string, bool) {
		var out []string
		e := p.Child(p.Space, name)
		if e == nil {
			return nil, true
		}
		for _, je := range e.ChildrenNamed(p.Space, "jid") {
			j, err := jid.Parse(je.Text())
			if err != nil {
				return nil, false
			}
			out = append(out, j.String())
		}
		return out, true
	}
	var ok1, ok2 bool
	prefs.Always, ok1 = list("always")
	prefs.Never, ok2 = list("never")
	if !ok1 || !ok2 {
		return iq.Error(stanza.BadRequest, "Invalid JID in preferences")
	}
	if _, err := m.st.Apply(ctx, &store.SetMAMPrefs{Domain: iq.To.Domain(), User: iq.To.Local(), Prefs: prefs,
		Dynamic: !m.env.Directory().IsStatic(iq.To.Domain())}); err != nil {
		m.env.Logger().Warn("MAM preferences not stored", "owner", iq.To.String(), "error", err)
		return iq.Error(stanza.InternalServerError, "")
	}
	return iq.Result(prefsElement(p.Space, prefs))
}
