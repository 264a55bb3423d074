package xmlstream

import (
	"bufio"
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestAppendXML(t *testing.T) {
	tests := []struct {
		name     string
		el       *Element
		parentNS string
		want     string
	}{
		{
			name:     "empty element self-closes",
			el:       NewElement(ClientNamespace, "presence"),
			parentNS: ClientNamespace,
			want:     `<presence/>`,
		},
		{
			name:     "namespace declared when it differs",
			el:       NewElement("urn:xmpp:ping", "ping"),
			parentNS: ClientNamespace,
			want:     `<ping xmlns="urn:xmpp:ping"/>`,
		},
		{
			name: "children inherit",
			el: func() *Element {
				iq := NewElement(ClientNamespace, "iq", Attr{Local: "type", Value: "result"})
				q := NewElement("jabber:iq:roster", "query")
				q.AddChild(NewElement("jabber:iq:roster", "item", Attr{Local: "jid", Value: "a@b"}))
				q.AddChild(NewElement(ClientNamespace, "x"))
				q.AddChild(NewElement("", "y"))
				iq.AddChild(q)
				return iq
			}(),
			parentNS: ClientNamespace,
			want:     `<iq type="result"><query xmlns="jabber:iq:roster"><item jid="a@b"/><x xmlns="jabber:client"/><y xmlns=""/></query></iq>`,
		},
		{
			name: "text escaping",
			el: func() *Element {
				b := NewElement(ClientNamespace, "body")
				b.AddText("a<b>&c\r\n\t\"' ]]>")
				return b
			}(),
			parentNS: ClientNamespace,
			want:     "<body>a&lt;b&gt;&amp;c&#xD;\n\t\"' ]]&gt;</body>",
		},
		{
			name:     "attribute escaping",
			el:       NewElement(ClientNamespace, "m", Attr{Local: "a", Value: "<&\"\t\n\r>'"}),
			parentNS: ClientNamespace,
			want:     `<m a="&lt;&amp;&quot;&#x9;&#xA;&#xD;>'"/>`,
		},
		{
			name: "characters XML cannot carry",
			el: func() *Element {
				b := NewElement(ClientNamespace, "b", Attr{Local: "a", Value: "x\x00y\xffz"})
				b.AddText("\x01\xed\xa0\x80\uFFFE\u00e9")
				return b
			}(),
			parentNS: ClientNamespace,
			want:     "<b a=\"x\uFFFDy\uFFFDz\">\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\u00e9</b>",
		},
		{
			name:     "xml:lang",
			el:       NewElement(ClientNamespace, "m", Attr{XMLNamespace, "lang", "de"}),
			parentNS: ClientNamespace,
			want:     `<m xml:lang="de"/>`,
		},
		{
			name: "namespaced attributes get declared prefixes",
			el: NewElement("urn:a", "a",
				Attr{"urn:p", "x", "1"}, Attr{"", "x", "2"}, Attr{"urn:q", "y", "3"}, Attr{"urn:p", "z", "4"}),
			parentNS: "urn:a",
			want:     `<a xmlns:ns0="urn:p" ns0:x="1" x="2" xmlns:ns2="urn:q" ns2:y="3" ns0:z="4"/>`,
		},
		{
			name:     "namespace declarations as attributes are dropped",
			el:       NewElement("urn:a", "a", Attr{"", "xmlns", "urn:b"}, Attr{xmlnsNamespace, "p", "urn:p"}, Attr{"", "k", "v"}),
			parentNS: "urn:a",
			want:     `<a k="v"/>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(tt.el.AppendXML([]byte("prefix:"), tt.parentNS))
			if got != "prefix:"+tt.want {
				t.Fatalf("got  %s\nwant %s", got, "prefix:"+tt.want)
			}
		})
	}
}

func TestStringAndWriteTo(t *testing.T) {
	el := NewElement(ClientNamespace, "message", Attr{Local: "to", Value: "a@b"})
	el.AddChild(NewElement(ClientNamespace, "body"))
	const want = `<message xmlns="jabber:client" to="a@b"><body/></message>`
	if el.String() != want {
		t.Fatalf("String() = %s", el.String())
	}
	var buf bytes.Buffer
	n, err := el.WriteTo(&buf)
	if err != nil || n != int64(len(want)) || buf.String() != want {
		t.Fatalf("WriteTo = %d, %v, %q", n, err, buf.String())
	}
}

func TestStreamHeaderAndError(t *testing.T) {
	h := &StreamHeader{DefaultNS: ClientNamespace, Attrs: []Attr{
		{"", "from", "example.com"}, {"", "id", "c2s&1"}, {"", "version", "1.0"}, {XMLNamespace, "lang", "en"},
	}}
	out := AppendStreamHeader([]byte(XMLDeclaration), h)
	const want = `<?xml version='1.0'?><stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" from="example.com" id="c2s&amp;1" version="1.0" xml:lang="en">`
	if string(out) != want {
		t.Fatalf("header = %s", out)
	}
	out = AppendStreamError(out, NotWellFormed, "bad <input>")
	out = append(out, StreamClose...)
	p := NewParser(bufio.NewReader(bytes.NewReader(out)), Limits{})
	got, err := p.ReadHeader()
	if err != nil || !reflect.DeepEqual(got, h) {
		t.Fatalf("parsed header %+v, %v", got, err)
	}
	el, err := p.Next()
	if err != nil {
		t.Fatal(err)
	}
	wantErr := `{http://etherx.jabber.org/streams}error[ ]({urn:ietf:params:xml:ns:xmpp-streams}not-well-formed[ ]() {urn:ietf:params:xml:ns:xmpp-streams}text[ ]("bad <input>"))`
	if dump(el) != wantErr {
		t.Fatalf("stream error = %s", dump(el))
	}
	if _, err := p.Next(); !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("err = %v", err)
	}
	if s := string(AppendStreamError(nil, PolicyViolation, "")); s != `<stream:error><policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>` {
		t.Fatalf("stream error without text = %s", s)
	}
}

// checkRoundTrip writes el as a stanza of a jabber:client stream, parses
// it back and requires the same tree, and the same bytes on a second write.
func checkRoundTrip(t *testing.T, el *Element) {
	t.Helper()
	out := el.AppendXML(nil, ClientNamespace)
	res := parseWith(bytes.NewReader(append(append([]byte(testHeader), out...), StreamClose...)), 4096, Limits{MaxDepth: 1 << 20, MaxAttrs: 1 << 20, MaxNameLen: 1 << 20})
	if !errors.Is(res.Err, ErrStreamClosed) || len(res.Elements) != 1 {
		t.Fatalf("reparse of %s: %d elements, %v", out, len(res.Elements), res.Err)
	}
	if got, want := dump(res.Elements[0]), dump(el); got != want {
		t.Fatalf("round trip of %s:\ngot  %s\nwant %s", out, got, want)
	}
	if again := res.Elements[0].AppendXML(nil, ClientNamespace); !bytes.Equal(again, out) {
		t.Fatalf("second write differs:\n%s\n%s", out, again)
	}
}

func TestRoundTrip(t *testing.T) {
	res := parseString(richStream, Limits{})
	if len(res.Elements) == 0 {
		t.Fatal(res.Err)
	}
	for _, el := range res.Elements {
		checkRoundTrip(t, el)
	}
	odd := NewElement("urn:a", "a", Attr{"", "v", " \t\r\n x "}, Attr{XMLNamespace, "lang", "x"}, Attr{"urn:p", "k", "&"})
	odd.AddText("\r\n\r ]]> <&>")
	odd.AddChild(NewElement("", "empty-ns"))
	checkRoundTrip(t, odd)
}
