package xmlstream

import "testing"

func TestNamespaces(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "stream default namespace",
			in:   "<message><body/></message>",
			want: `{jabber:client}message[ ]({jabber:client}body[ ]())`,
		},
		{
			name: "default namespace on child",
			in:   "<iq><query xmlns='jabber:iq:roster'><item jid='a@b'/></query></iq>",
			want: `{jabber:client}iq[ ]({jabber:iq:roster}query[ ]({jabber:iq:roster}item[ {}jid="a@b" ]()))`,
		},
		{
			name: "default namespace scope ends with the element",
			in:   "<iq><query xmlns='jabber:iq:roster'/><x/></iq>",
			want: `{jabber:client}iq[ ]({jabber:iq:roster}query[ ]() {jabber:client}x[ ]())`,
		},
		{
			name: "prefixed element",
			in:   "<message xmlns:r='urn:xmpp:receipts'><r:request/></message>",
			want: `{jabber:client}message[ ]({urn:xmpp:receipts}request[ ]())`,
		},
		{
			name: "prefix declared on the element itself",
			in:   "<r:request xmlns:r='urn:xmpp:receipts'/>",
			want: `{urn:xmpp:receipts}request[ ]()`,
		},
		{
			name: "declaration after use in the same tag",
			in:   "<r:request r:a='1' xmlns:r='urn:r'/>",
			want: `{urn:r}request[ {urn:r}a="1" ]()`,
		},
		{
			name: "prefixed attribute",
			in:   "<message xmlns:p='urn:p' p:x='1' x='2'/>",
			want: `{jabber:client}message[ {urn:p}x="1" {}x="2" ]()`,
		},
		{
			name: "unprefixed attribute ignores the default namespace",
			in:   "<a xmlns='urn:a' b='1'/>",
			want: `{urn:a}a[ {}b="1" ]()`,
		},
		{
			name: "xml:lang",
			in:   "<message xml:lang='de'><body xml:lang='en'>x</body></message>",
			want: `{jabber:client}message[ {http://www.w3.org/XML/1998/namespace}lang="de" ]({jabber:client}body[ {http://www.w3.org/XML/1998/namespace}lang="en" ]("x"))`,
		},
		{
			name: "xml prefix may be declared to its own namespace",
			in:   "<a xmlns:xml='http://www.w3.org/XML/1998/namespace' xml:space='preserve'/>",
			want: `{jabber:client}a[ {http://www.w3.org/XML/1998/namespace}space="preserve" ]()`,
		},
		{
			name: "redeclared prefix",
			in:   "<a xmlns:p='urn:1'><p:b><p:c xmlns:p='urn:2'/></p:b><p:d/></a>",
			want: `{jabber:client}a[ ]({urn:1}b[ ]({urn:2}c[ ]()) {urn:1}d[ ]())`,
		},
		{
			name: "redeclared default namespace",
			in:   "<a xmlns='urn:1'><b xmlns='urn:2'><c/></b><d/></a>",
			want: `{urn:1}a[ ]({urn:2}b[ ]({urn:2}c[ ]()) {urn:1}d[ ]())`,
		},
		{
			name: "undeclared default namespace",
			in:   "<a><b xmlns=''><c/></b></a>",
			want: `{jabber:client}a[ ]({}b[ ]({}c[ ]()))`,
		},
		{
			name: "stream prefix from the header",
			in:   "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
			want: `{http://etherx.jabber.org/streams}features[ ]({urn:ietf:params:xml:ns:xmpp-bind}bind[ ]())`,
		},
		{
			name: "namespace with references",
			in:   "<a xmlns='urn:a&amp;b'/>",
			want: `{urn:a&b}a[ ]()`,
		},
		{
			name: "same local name in two namespaces",
			in:   "<a xmlns:p='urn:p' xmlns:q='urn:q' p:x='1' q:x='2'/>",
			want: `{jabber:client}a[ {urn:p}x="1" {urn:q}x="2" ]()`,
		},
		{
			name: "non-ASCII names",
			in:   "<café xmlns:ü='urn:u' ü:naïve='1'><ü:日本/></café>",
			want: `{jabber:client}café[ {urn:u}naïve="1" ]({urn:u}日本[ ]())`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dump(parseOne(t, tt.in)); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// Declarations in one stanza do not leak into the next.
func TestNamespaceScopeEndsWithStanza(t *testing.T) {
	res := parseString(testHeader+"<a xmlns:p='urn:p'/><p:b/>", Limits{})
	if len(res.Elements) != 1 || ConditionOf(res.Err) != NotWellFormed {
		t.Fatalf("%d elements, err %v", len(res.Elements), res.Err)
	}
	res = parseString(testHeader+"<a xmlns='urn:a'/><b/></stream:stream>", Limits{})
	if len(res.Elements) != 2 || res.Elements[1].Space != ClientNamespace {
		t.Fatalf("default namespace leaked: %v", res.Elements)
	}
}

func TestTextAndReferences(t *testing.T) {
	tests := []struct {
		name, in, text string
		attr           string
	}{
		{name: "predefined entities", in: "<b a='&lt;&gt;&amp;&quot;&apos;'>&lt;&gt;&amp;&quot;&apos;</b>", text: `<>&"'`, attr: `<>&"'`},
		{name: "character references", in: "<b a='&#65;&#x42;&#x10FFFF;'>&#65;&#x42;&#xe9;&#128512;&#x10FFFF;</b>", text: "AB\u00e9\U0001F600\U0010FFFF", attr: "AB\U0010FFFF"},
		{name: "leading zeros", in: "<b>&#0000065;&#x000041;</b>", text: "AA"},
		{name: "tab newline CR references kept", in: "<b a='&#9;&#10;&#13;'>&#9;&#10;&#13;</b>", text: "\t\n\r", attr: "\t\n\r"},
		{name: "line ends normalised", in: "<b a='x\r\ny\rz'>x\r\ny\rz\n</b>", text: "x\ny\nz\n", attr: "x y z"},
		{name: "attribute whitespace normalised", in: "<b a='\tx\ny '/>", attr: " x y "},
		{name: "gt and quotes allowed raw", in: "<b a='>\"' c=\"'\">a>b\"'</b>", text: `a>b"'`, attr: `>"`},
		{name: "cdata end allowed in attribute", in: "<b a=']]>'/>", attr: "]]>"},
		{name: "brackets in text", in: "<b>]] ]> a]b ]]</b>", text: "]] ]> a]b ]]"},
		{name: "CDATA", in: "<b><![CDATA[<x>&amp;]]]]></b>", text: "<x>&amp;]]"},
		{name: "CDATA with CR", in: "<b><![CDATA[a\r\nb\rc]]></b>", text: "a\nb\nc"},
		{name: "CDATA merged with text", in: "<b>a<![CDATA[b]]>c<![CDATA[]]>d</b>", text: "abcd"},
		{name: "empty CDATA", in: "<b><![CDATA[]]></b>", text: ""},
		{name: "UTF-8 text", in: "<b a='Grüße'>Привет, 世界 🎉</b>", text: "Привет, 世界 🎉", attr: "Grüße"},
		{name: "C1 controls are XML characters", in: "<b>\u0085\u009f</b>", text: "\u0085\u009f"},
		{name: "private use and U+FFFD", in: "<b>\ue000\ufffd\U000F0000</b>", text: "\ue000\ufffd\U000F0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			el := parseOne(t, tt.in)
			if got := el.Text(); got != tt.text {
				t.Errorf("text = %q, want %q", got, tt.text)
			}
			if got := el.Attr("a"); got != tt.attr {
				t.Errorf("attr = %q, want %q", got, tt.attr)
			}
			if n := len(el.Children); n > 1 {
				t.Errorf("%d children, want adjacent text merged", n)
			}
		})
	}
}

func TestMixedContent(t *testing.T) {
	el := parseOne(t, "<a>\n  <b>x</b>\n  y<c/></a>")
	want := `{jabber:client}a[ ]("\n  " {jabber:client}b[ ]("x") "\n  y" {jabber:client}c[ ]())`
	if got := dump(el); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
