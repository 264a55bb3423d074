package module_test

import (
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func TestPreAuthIQ(t *testing.T) {
	h := moduletest.New(t, map[string]string{"a.com": "A", "b.com": "B"})
	var got module.PreAuthStream
	h.Start("A", module.Module{Name: "reg", Start: func(env *module.Env, _ module.Options) error {
		env.OnPreAuthIQ("urn:test:reg", func(st module.PreAuthStream, el *xmlstream.Element) *xmlstream.Element {
			got = st
			if el.Attr("id") == "boom" {
				panic("module bug")
			}
			return stanza.Result(el, nil)
		})
		return nil
	}}, nil)
	iq := func(id, ns string) *xmlstream.Element {
		el := xmlstream.NewElement(stanza.NSClient, "iq", xmlstream.Attr{Local: "id", Value: id}, xmlstream.Attr{Local: "type", Value: "get"})
		el.AddChild(xmlstream.NewElement(ns, "query"))
		return el
	}
	st := module.PreAuthStream{Domain: "a.com", HostType: "A"}
	if r, ok := h.Host.PreAuthIQ(st, iq("1", "urn:test:reg")); !ok || r == nil || r.Attr("type") != "result" || got != st {
		t.Fatalf("handled %v reply %v saw %+v", ok, r, got)
	}
	if _, ok := h.Host.PreAuthIQ(st, iq("2", "urn:test:other")); ok {
		t.Error("other namespace handled")
	}
	if _, ok := h.Host.PreAuthIQ(module.PreAuthStream{Domain: "b.com", HostType: "B"}, iq("3", "urn:test:reg")); ok {
		t.Error("handled for a host type without the module")
	}
	if _, ok := h.Host.PreAuthIQ(st, xmlstream.NewElement(stanza.NSClient, "iq")); ok {
		t.Error("IQ without payload handled")
	}
	if r, ok := h.Host.PreAuthIQ(st, iq("boom", "urn:test:reg")); !ok || r != nil {
		t.Errorf("panicking hook: %v %v", ok, r)
	}
}
