package xmlstream

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"testing"
)

// benchStanzas is the number of stanzas in the benchmark stream; one op
// parses all of them, so allocs/op is per benchStanzas stanzas.
const benchStanzas = 1000

// benchStream is a c2s stream of realistic 304-byte chat messages.
func benchStream() []byte {
	var b bytes.Buffer
	b.WriteString(testHeader)
	for i := range benchStanzas {
		fmt.Fprintf(&b, "<message to='juliet@capulet.lit/balcony' from='romeo@montague.lit/orchard' type='chat' id='m%06d' xml:lang='en'>"+
			"<body>Art thou not Romeo, and a Montague?</body>"+
			"<stanza-id xmlns='urn:xmpp:sid:0' id='5f3dbc5e-e1d3-%06d' by='juliet@capulet.lit'/>"+
			"<active xmlns='http://jabber.org/protocol/chatstates'/></message>", i, i)
	}
	b.WriteString(StreamClose)
	return b.Bytes()
}

func reportPerStanza(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchStanzas), "ns/stanza")
}

// BenchmarkParse and BenchmarkEncodingXML do the same work (stream bytes
// to one Element tree per stanza) so their MB/s and allocs/op compare.
func BenchmarkParse(b *testing.B) {
	in := benchStream()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	rd := bytes.NewReader(in)
	br := bufio.NewReader(rd)
	p := NewParser(br, Limits{MaxStanzaSize: 64 << 10})
	for b.Loop() {
		rd.Reset(in)
		br.Reset(rd)
		p.Reset(br)
		if _, err := p.ReadHeader(); err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := p.Next()
			if errors.Is(err, ErrStreamClosed) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchStanzas {
			b.Fatalf("%d stanzas", n)
		}
	}
	reportPerStanza(b)
}

func BenchmarkEncodingXML(b *testing.B) {
	in := benchStream()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	rd := bytes.NewReader(in)
	br := bufio.NewReader(rd)
	for b.Loop() {
		rd.Reset(in)
		br.Reset(rd)
		if n := decodeWithEncodingXML(b, xml.NewDecoder(br)); n != benchStanzas {
			b.Fatalf("%d stanzas", n)
		}
	}
	reportPerStanza(b)
}

// decodeWithEncodingXML builds the same trees from Decoder.Token().
func decodeWithEncodingXML(b *testing.B, d *xml.Decoder) int {
	var stack []*Element
	n, depth := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				continue
			}
			el := &Element{Space: tok.Name.Space, Local: tok.Name.Local}
			for _, a := range tok.Attr {
				if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
					continue
				}
				el.Attrs = append(el.Attrs, Attr{Space: a.Name.Space, Local: a.Name.Local, Value: a.Value})
			}
			if len(stack) > 0 {
				stack[len(stack)-1].AddChild(el)
			}
			stack = append(stack, el)
		case xml.EndElement:
			depth--
			if depth >= 1 {
				stack = stack[:len(stack)-1]
				if depth == 1 {
					n++
				}
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].AddText(string(tok))
			}
		}
	}
}

func BenchmarkAppendXML(b *testing.B) {
	res := parseString(string(benchStream()), Limits{})
	if len(res.Elements) != benchStanzas {
		b.Fatal(res.Err)
	}
	var out []byte
	size := 0
	for _, el := range res.Elements {
		size += len(el.AppendXML(nil, ClientNamespace))
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, el := range res.Elements {
			out = el.AppendXML(out[:0], ClientNamespace)
		}
	}
}
