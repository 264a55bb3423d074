package xmlstream

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"<message to='a@b' type='chat' id='1' xml:lang='en'><body>hi &amp; bye</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>",
	"<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>",
	"<presence><show>away</show><status>&lt;brb&gt;</status></presence>",
	"<a xmlns:p='urn:p' p:x='1' x='&#9;&#xA;'><p:b/><c xmlns=''/></a>",
	"<a><![CDATA[x]]>y</a>",
	"<a>\r\n</a>",
	"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
	"<a><!-- c --></a>",
	"<a>&foo;</a>",
	"<a>&#0;</a>",
	"<?pi?>",
	"<a:b/>",
	"<a b='1' b='2'/>",
	"<a>\xff</a>",
	"<a><b></a>",
	"<a b=\"\t\"/>",
	"<stream:stream>",
	" \n ",
	"</stream:stream>",
	"<a xmlns:p=''/>",
	"<a>]]></a>",
	"<é ü='1'>日本</é>",
}

// FuzzParse feeds arbitrary bytes, alone and after a valid header, with
// tight limits: the parser must not panic, must fail only with its own
// error kinds, must not return an element beyond the limits, and must not
// read more than a stanza limit plus one buffer into a rejected stanza.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(testHeader + "<message/></stream:stream>"))
	f.Add([]byte("<?xml version='1.0' encoding='UTF-8'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxStanzaSize: 512, MaxDepth: 6, MaxAttrs: 6, MaxNameLen: 48}
		const bufSize = 64
		for _, in := range [][]byte{data, append([]byte(testHeader), data...)} {
			cr := &countingReader{r: bytes.NewReader(in)}
			p := NewParser(bufio.NewReaderSize(cr, bufSize), lim)
			_, err := p.ReadHeader()
			for err == nil {
				var el *Element
				el, err = p.Next()
				if el != nil {
					checkLimits(t, el, lim)
					checkRoundTrip(t, el)
				}
			}
			var se *StreamError
			switch {
			case errors.As(err, &se):
				if se.Condition == PolicyViolation && int64(cr.n)-p.InputOffset() > int64(lim.MaxStanzaSize+bufSize) {
					t.Fatalf("read %d bytes into a rejected unit", int64(cr.n)-p.InputOffset())
				}
			case errors.Is(err, ErrStreamClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			default:
				t.Fatalf("unexpected error kind: %v", err)
			}
		}
	})
}

// checkLimits walks el without recursion and checks depth and attributes.
func checkLimits(t *testing.T, el *Element, lim Limits) {
	type item struct {
		el    *Element
		depth int
	}
	work := []item{{el, 1}}
	for len(work) > 0 {
		it := work[len(work)-1]
		work = work[:len(work)-1]
		if it.depth > lim.MaxDepth || len(it.el.Attrs) > lim.MaxAttrs || len(it.el.Local) > lim.MaxNameLen {
			t.Fatalf("element beyond limits: %s", dump(el))
		}
		for _, c := range it.el.Children {
			if c, ok := c.(*Element); ok {
				work = append(work, item{c, it.depth + 1})
			}
		}
	}
}

// deliberate lists the details of not-well-formed errors for input that
// encoding/xml accepts because it does not enforce the rule: Namespaces in
// XML (undeclared prefixes, bad declarations, duplicate expanded names),
// duplicate attributes, whitespace between attributes, references to
// characters XML forbids (it turns &#xD800; into U+FFFD), and our bound on
// reference length.
var deliberate = []string{
	"undeclared namespace prefix",
	"duplicate attribute",
	"duplicate namespace declaration",
	"declared with an empty namespace",
	"the xmlns prefix cannot be declared",
	"the xml prefix cannot be rebound",
	"reserved namespace bound to another prefix",
	"element with the xmlns prefix",
	"malformed name",
	"expected whitespace before an attribute",
	"character reference to an illegal character",
	"unterminated entity reference",
}

// FuzzRoundTrip compares the parser with encoding/xml's Token() as an
// oracle on a stream whose body is the fuzz input. Where encoding/xml
// accepts the whole stream, we must either reject it for a construct we
// reject on purpose (restricted XML, limits, stricter well-formedness
// listed in deliberate) or produce the same names, namespaces, attributes
// and text. Every element we return must survive write, parse, write.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		compareWithOracle(t, body)
	})
}

// Outcomes of compareWithOracle.
const (
	oracleRejected = iota // encoding/xml rejects: nothing to compare
	oracleStricter        // we reject on purpose; the elements before agree
	oracleAgreed          // both accept and agree
)

// compareWithOracle parses body inside a stream with both parsers and
// fails t where they disagree.
func compareWithOracle(t *testing.T, body []byte) int {
	t.Helper()
	doc := testHeader + string(body) + StreamClose
	ours := parseString(doc, Limits{})
	for _, el := range ours.Elements {
		checkRoundTrip(t, el)
	}
	want, ok := oracle(doc)
	if !ok {
		return oracleRejected
	}
	outcome := oracleAgreed
	if !errors.Is(ours.Err, ErrStreamClosed) {
		outcome = oracleStricter
		var se *StreamError
		if !errors.As(ours.Err, &se) {
			t.Fatalf("encoding/xml accepts, we fail with %v", ours.Err)
		}
		if se.Condition == NotWellFormed && !isDeliberate(se.Text) {
			t.Fatalf("encoding/xml accepts, we reject: %v", se)
		}
		want = want[:min(len(want), len(ours.Elements))]
	}
	if len(ours.Elements) != len(want) {
		t.Fatalf("%d elements, encoding/xml %d", len(ours.Elements), len(want))
	}
	for i := range want {
		if got, exp := canonical(ours.Elements[i]), canonical(want[i]); got != exp {
			t.Fatalf("element %d:\nours     %s\nencoding %s", i, got, exp)
		}
	}
	return outcome
}

// The oracle agrees on the seeds and a rich stream, and actually compares.
func TestOracleAgreement(t *testing.T) {
	compared := 0
	bodies := append([]string{richStream[strings.Index(richStream, testHeader)+len(testHeader) : len(richStream)-len(StreamClose)]}, fuzzSeeds...)
	for _, b := range bodies {
		if compareWithOracle(t, []byte(b)) != oracleRejected {
			compared++
		}
	}
	if compared < len(bodies)/2 {
		t.Fatalf("only %d of %d inputs were compared", compared, len(bodies))
	}
}

func isDeliberate(text string) bool {
	for _, d := range deliberate {
		if strings.Contains(text, d) {
			return true
		}
	}
	return false
}

// canonical dumps el with attribute whitespace folded to spaces:
// encoding/xml does not apply XML's attribute-value normalisation, and
// after it a literal tab and &#9; cannot be told apart. Namespace names are
// attribute values too (xmlns='...'), so they are folded the same way.
func canonical(el *Element) string {
	fold := strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace
	c := el.Clone()
	work := []*Element{c}
	for len(work) > 0 {
		e := work[len(work)-1]
		work = work[:len(work)-1]
		e.Space = fold(e.Space)
		for i := range e.Attrs {
			e.Attrs[i].Space = fold(e.Attrs[i].Space)
			e.Attrs[i].Value = fold(e.Attrs[i].Value)
		}
		for _, n := range e.Children {
			if n, ok := n.(*Element); ok {
				work = append(work, n)
			}
		}
	}
	return dump(c)
}

// oracle parses doc with encoding/xml and builds the depth-1 elements.
// ok is false unless encoding/xml accepts the whole stream.
func oracle(doc string) (els []*Element, ok bool) {
	d := xml.NewDecoder(strings.NewReader(doc))
	var stack []*Element
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return els, depth == 0
		}
		if err != nil {
			return nil, false
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				continue // the stream header
			}
			if tok.Name.Space == "" && tok.Name.Local == "xmlns" {
				// encoding/xml leaves an unprefixed element named xmlns out of
				// the default namespace (it takes the name for a declaration);
				// Namespaces in XML puts it in the default namespace, as we do.
				// The oracle cannot judge such a stream.
				return nil, false
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
			} else {
				els = append(els, el)
			}
			stack = append(stack, el)
		case xml.EndElement:
			depth--
			if depth >= 1 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if len(stack) == 0 {
				continue // whitespace or text at stream level
			}
			parent := stack[len(stack)-1]
			if n := len(parent.Children); n > 0 {
				if last, ok := parent.Children[n-1].(CharData); ok {
					parent.Children[n-1] = last + CharData(tok)
					continue
				}
			}
			parent.AddText(string(tok))
		}
	}
}
