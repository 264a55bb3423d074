package module_test

import (
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// TestRosterGetHooks: OnRosterGet items are returned for the registering host type
// only, in registration order; a panicking hook loses only its own items.
func TestRosterGetHooks(t *testing.T) {
	h := moduletest.New(t, map[string]string{"on.com": "on", "off.com": "off"})
	add := func(name, item string) module.Module {
		return module.Module{Name: name, Start: func(env *module.Env, _ module.Options) error {
			env.OnRosterGet(func(user jid.JID) []*xmlstream.Element {
				if item == "" {
					panic("hook failure")
				}
				return []*xmlstream.Element{xmlstream.NewElement("jabber:iq:roster", "item",
					xmlstream.Attr{Local: "jid", Value: item + "/" + user.String()})}
			})
			return nil
		}}
	}
	h.Start("on", add("mod_a", "a"), nil)
	h.Start("on", add("mod_panic", ""), nil)
	h.Start("on", add("mod_b", "b"), nil)
	u := jid.MustParse("u@on.com")
	var got []string
	for _, it := range h.Host.RosterGet("on", u) {
		got = append(got, it.Attr("jid"))
	}
	check(t, "on", got, "a/u@on.com", "b/u@on.com")
	if items := h.Host.RosterGet("off", jid.MustParse("u@off.com")); len(items) != 0 {
		t.Fatalf("items for a host type without hooks: %v", items)
	}
}
