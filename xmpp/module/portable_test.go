package module_test

import (
	"errors"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

type flagKey struct{}
type nameKey struct{}
type brokenKey struct{}
type localKey struct{}

func portableModule(env *module.Env, _ module.Options) error {
	env.PortableValue("test.flag", flagKey{}, module.EncodeBool, module.DecodeBool)
	env.PortableValue("test.name", nameKey{},
		func(v any) ([]byte, error) { return []byte(v.(string)), nil },
		func(b []byte) (any, error) { return "got " + string(b), nil })
	env.PortableValue("test.broken", brokenKey{},
		func(any) ([]byte, error) { return nil, errors.New("cannot") },
		func([]byte) (any, error) { return 1, nil })
	return nil
}

// TestPortableValues: declared values travel by name and are rebuilt by their
// decoder; undeclared ones, ones that fail to encode and unknown names do not.
func TestPortableValues(t *testing.T) {
	a := moduletest.New(t, map[string]string{"on.com": "on"})
	a.Start("on", module.Module{Name: "p", Start: portableModule}, nil)
	b := moduletest.New(t, map[string]string{"on.com": "on"})
	b.Start("on", module.Module{Name: "p", Start: portableModule}, nil)

	old := a.Login("u@on.com/r")
	old.SetValue(flagKey{}, true)
	old.SetValue(nameKey{}, "x")
	old.SetValue(brokenKey{}, "y")
	old.SetValue(localKey{}, "stays")
	vals := a.Host.ExportValues(old)
	if _, ok := vals["test.broken"]; ok {
		t.Fatal("a value that failed to encode was exported")
	}
	if _, ok := vals["module.tenant"]; !ok {
		t.Fatalf("the tenant incarnation was not exported: %v", vals)
	}
	vals["test.unknown"] = []byte("?")

	b.AddUser("on.com", "u")
	nw := b.Login("u@on.com/r2")
	b.Host.ImportValues(nw, vals)
	if nw.Value(flagKey{}) != true || nw.Value(nameKey{}) != "got x" {
		t.Fatalf("imported flag %v name %v", nw.Value(flagKey{}), nw.Value(nameKey{}))
	}
	if nw.Value(brokenKey{}) != nil || nw.Value(localKey{}) != nil {
		t.Fatal("a value that is not portable travelled")
	}
	if _, err := module.DecodeBool([]byte{2}); err == nil {
		t.Fatal("DecodeBool accepted 2")
	}
	if _, err := module.EncodeBool(false); err == nil {
		t.Fatal("EncodeBool accepted false")
	}
}

// TestStanzasRoundTrip: a list of stanzas comes back as it was, namespaces and
// escapes included; truncated or padded input is refused.
func TestStanzasRoundTrip(t *testing.T) {
	msg := xmlstream.NewElement("jabber:client", "message", xmlstream.Attr{Local: "to", Value: "a@b/c"})
	bd := xmlstream.NewElement("jabber:client", "body")
	bd.AddText(`1 < 2 & "q"`)
	msg.AddChild(bd)
	msg.AddChild(xmlstream.NewElement("urn:x", "ext", xmlstream.Attr{Local: "k", Value: "<v>"}))
	iq := xmlstream.NewElement("jabber:client", "iq", xmlstream.Attr{Local: "type", Value: "get"})
	enc := module.EncodeStanzas([]*xmlstream.Element{msg, iq})
	got, err := module.DecodeStanzas(enc)
	if err != nil || len(got) != 2 || got[0].String() != msg.String() || got[1].String() != iq.String() {
		t.Fatalf("decoded %v, %v", got, err)
	}
	if got, err := module.DecodeStanzas(module.EncodeStanzas(nil)); err != nil || len(got) != 0 {
		t.Fatalf("empty list: %v %v", got, err)
	}
	for _, bad := range [][]byte{nil, enc[:len(enc)-1], append(enc[:len(enc):len(enc)], 0), {5}} {
		if _, err := module.DecodeStanzas(bad); err == nil {
			t.Fatalf("accepted %q", bad)
		}
	}
	if _, err := module.ParseStanza([]byte("<message><body>")); err == nil {
		t.Fatal("parsed an unfinished stanza")
	}
}
