package xmlstream

import (
	"reflect"
	"testing"
)

func TestElementHelpers(t *testing.T) {
	el := parseOne(t, "<message to='a@b' xml:lang='en' xmlns:p='urn:p' p:to='x'>"+
		"<body>one</body><body xml:lang='de'>zwei</body><x xmlns='urn:x'/>t1<![CDATA[t2]]><y/>t3</message>")
	if el.Attr("to") != "a@b" || el.AttrNS("urn:p", "to") != "x" || el.Lang() != "en" || el.Attr("missing") != "" {
		t.Fatalf("attrs: %+v", el.Attrs)
	}
	if b := el.Child(ClientNamespace, "body"); b == nil || b.Text() != "one" {
		t.Fatalf("Child(body) = %v", b)
	}
	if el.Child("", "body") != nil || el.Child("urn:x", "body") != nil {
		t.Fatal("Child matched the wrong namespace")
	}
	if bs := el.ChildrenNamed(ClientNamespace, "body"); len(bs) != 2 || bs[1].Lang() != "de" {
		t.Fatalf("ChildrenNamed = %v", bs)
	}
	if n := len(el.Elements()); n != 4 {
		t.Fatalf("Elements: %d", n)
	}
	if el.Text() != "t1t2t3" {
		t.Fatalf("Text = %q", el.Text())
	}

	// Modifying a parsed element must not disturb its neighbours, which
	// share backing arrays.
	body := el.Child(ClientNamespace, "body")
	sibling := el.ChildrenNamed(ClientNamespace, "body")[1]
	before := dump(sibling)
	body.SetAttr("id", "1")
	body.SetAttr("to", "z")
	body.AddChild(NewElement("urn:y", "y"))
	body.AddText("more")
	if body.Attr("id") != "1" || body.Text() != "onemore" || dump(sibling) != before {
		t.Fatalf("body %s, sibling %s (was %s)", dump(body), dump(sibling), before)
	}
	el.SetAttr("to", "c@d")
	el.SetAttrNS(XMLNamespace, "lang", "fr")
	el.RemoveAttr("missing")
	el.RemoveAttrNS("urn:p", "to")
	want := []Attr{{"", "to", "c@d"}, {XMLNamespace, "lang", "fr"}}
	if !reflect.DeepEqual(el.Attrs, want) {
		t.Fatalf("attrs = %+v", el.Attrs)
	}
	el.RemoveAttr("to")
	if el.Attr("to") != "" || len(el.Attrs) != 1 {
		t.Fatalf("RemoveAttr: %+v", el.Attrs)
	}
	body.SetText("only")
	if len(body.Children) != 1 || body.Text() != "only" {
		t.Fatalf("SetText: %s", dump(body))
	}
	body.AddChild(nil)
	body.AddChild((*Element)(nil))
	body.AddText("")
	if len(body.Children) != 1 {
		t.Fatal("nil or empty children were added")
	}
}

func TestClone(t *testing.T) {
	el := parseOne(t, "<message to='a@b'><body>hi</body><x xmlns='urn:x' a='1'><y/></x></message>")
	c := el.Clone()
	if dump(c) != dump(el) {
		t.Fatalf("clone differs: %s", dump(c))
	}
	c.SetAttr("to", "other")
	c.Child("urn:x", "x").SetAttr("a", "2")
	c.Child("urn:x", "x").Child("urn:x", "y").AddText("t")
	c.Children[0] = CharData("replaced")
	if el.Attr("to") != "a@b" || el.Child("urn:x", "x").Attr("a") != "1" ||
		el.Child("urn:x", "x").Child("urn:x", "y").Text() != "" || el.Child(ClientNamespace, "body") == nil {
		t.Fatalf("original changed: %s", dump(el))
	}
	if (*Element)(nil).Clone() != nil {
		t.Fatal("nil clone")
	}
}

func TestNewElementCopiesAttrs(t *testing.T) {
	attrs := []Attr{{"", "a", "1"}}
	el := NewElement("urn:a", "a", attrs...)
	attrs[0].Value = "2"
	if el.Attr("a") != "1" {
		t.Fatal("NewElement shares the attrs slice")
	}
}

func TestInternedNames(t *testing.T) {
	el := parseOne(t, "<message><body>x</body><unknown-name xmlns='urn:unknown'/></message>")
	for _, w := range internWords {
		if got, ok := lookupIntern([]byte(w)); !ok || got != w {
			t.Fatalf("intern table lost %q", w)
		}
	}
	if _, ok := lookupIntern([]byte("unknown-name")); ok {
		t.Fatal("unknown name interned")
	}
	if el.Local != "message" || el.Elements()[1].Space != "urn:unknown" {
		t.Fatal(dump(el))
	}
}
