package xmlstream

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

// repeatReader yields prefix, then unit forever.
type repeatReader struct {
	prefix string
	unit   string
	off    int
}

func (r *repeatReader) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		if r.prefix != "" {
			c := copy(b[n:], r.prefix)
			r.prefix = r.prefix[c:]
			n += c
			continue
		}
		c := copy(b[n:], r.unit[r.off:])
		r.off = (r.off + c) % len(r.unit)
		n += c
	}
	return n, nil
}

// An endless stanza fails once the limit is passed, having read at most
// the limit plus one buffer beyond the stanza's start.
func TestStanzaSizeBoundsReading(t *testing.T) {
	const limit, bufSize = 10_000, 512
	for _, tc := range []struct{ name, unit string }{
		{"text", "x"},
		{"attribute value", "y"},
		{"elements", "<a/>"},
		{"whitespace in a tag", " "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := map[string]string{
				"text":                "<message><body>",
				"attribute value":     "<message id='",
				"elements":            "<message>",
				"whitespace in a tag": "<message",
			}[tc.name]
			cr := &countingReader{r: &repeatReader{prefix: testHeader + prefix, unit: tc.unit}}
			p := NewParser(bufio.NewReaderSize(cr, bufSize), Limits{MaxStanzaSize: limit, MaxAttrs: 1 << 20})
			if _, err := p.ReadHeader(); err != nil {
				t.Fatal(err)
			}
			_, err := p.Next()
			if !errors.Is(err, ErrPolicyViolation) {
				t.Fatalf("err = %v, want policy-violation", err)
			}
			if read := cr.n - len(testHeader); read > limit+bufSize {
				t.Fatalf("read %d bytes of the stanza, limit %d + buffer %d", read, limit, bufSize)
			}
		})
	}
}

// The limit applies to each stanza, not to the stream, and whitespace
// keep-alives between stanzas do not count.
func TestStanzaSizeIsPerStanza(t *testing.T) {
	stanza := "<message><body>" + strings.Repeat("x", 200) + "</body></message>"
	in := shortHeader + strings.Repeat(stanza+strings.Repeat(" ", 1000), 50) + "</stream:stream>"
	for name, mk := range readers(in) {
		r, size := mk()
		res := parseWith(r, size, Limits{MaxStanzaSize: len(stanza)})
		if !errors.Is(res.Err, ErrStreamClosed) || len(res.Elements) != 50 {
			t.Fatalf("%s: %d elements, err %v", name, len(res.Elements), res.Err)
		}
	}
}

// A stanza bigger than the reader's buffer is parsed from the parser's
// own buffer, and what follows it is still left in the reader.
func TestStanzaLargerThanBuffer(t *testing.T) {
	body := strings.Repeat("0123456789", 1000)
	in := testHeader + "<message><body>" + body + "</body></message><presence/>"
	br := bufio.NewReaderSize(strings.NewReader(in), 16)
	p := NewParser(br, Limits{})
	if _, err := p.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	el, err := p.Next()
	if err != nil || el.Child(ClientNamespace, "body").Text() != body {
		t.Fatalf("%v", err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "<presence/>" {
		t.Fatalf("left %q in the reader", rest)
	}
}

// 100,000 nested elements fail at the depth limit without reading on.
func TestDeepNestingFailsFast(t *testing.T) {
	cr := &countingReader{r: &repeatReader{prefix: testHeader, unit: "<a>"}}
	p := NewParser(bufio.NewReaderSize(cr, 4096), Limits{})
	if _, err := p.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Next(); !errors.Is(err, ErrPolicyViolation) {
		t.Fatalf("err = %v", err)
	}
	if cr.n > 2*4096 {
		t.Fatalf("read %d bytes before failing", cr.n)
	}
}

// With the depth cap lifted, 100,000 levels parse: neither pass recurses.
func TestDeepNestingIterative(t *testing.T) {
	const depth = 100_000
	in := testHeader + strings.Repeat("<a>", depth) + "x" + strings.Repeat("</a>", depth) + "</stream:stream>"
	res := parseString(in, Limits{MaxDepth: depth})
	if !errors.Is(res.Err, ErrStreamClosed) || len(res.Elements) != 1 {
		t.Fatalf("err = %v", res.Err)
	}
	n := 0
	for el := res.Elements[0]; ; n++ {
		if len(el.Children) != 1 {
			t.Fatalf("level %d has %d children", n, len(el.Children))
		}
		next, ok := el.Children[0].(*Element)
		if !ok {
			break
		}
		el = next
	}
	if n+1 != depth {
		t.Fatalf("depth %d, want %d", n+1, depth)
	}
	res = parseString(in, Limits{MaxDepth: depth - 1})
	if !errors.Is(res.Err, ErrPolicyViolation) {
		t.Fatalf("depth-1 limit: err = %v", res.Err)
	}
}

// An endless name or attribute list fails at its limit.
func TestEndlessNameAndAttributes(t *testing.T) {
	for _, tc := range []struct{ prefix, unit string }{
		{"<message", "a"},
		{"<message ", "a"},
		{"<message", " a='1'"},
		{"<message xmlns", ":a"},
		{"<message><body>&#", "0"},
	} {
		cr := &countingReader{r: &repeatReader{prefix: testHeader + tc.prefix, unit: tc.unit}}
		p := NewParser(bufio.NewReaderSize(cr, 512), Limits{})
		if _, err := p.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		_, err := p.Next()
		if ConditionOf(err) == "" {
			t.Fatalf("%q+%q...: err = %v", tc.prefix, tc.unit, err)
		}
		if cr.n > 64<<10 {
			t.Fatalf("%q+%q...: read %d bytes", tc.prefix, tc.unit, cr.n)
		}
	}
}

// Idle whitespace is consumed as it arrives, never buffered.
func TestWhitespaceKeepAlivesNotBuffered(t *testing.T) {
	in := shortHeader + strings.Repeat(" \n", 100_000) + "<presence/>"
	p := NewParser(bufio.NewReaderSize(strings.NewReader(in), 16), Limits{MaxStanzaSize: 100})
	if _, err := p.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	if el, err := p.Next(); err != nil || el.Local != "presence" {
		t.Fatalf("%v %v", el, err)
	}
	if cap(p.buf) > 100 {
		t.Fatalf("parser buffer grew to %d", cap(p.buf))
	}
}
