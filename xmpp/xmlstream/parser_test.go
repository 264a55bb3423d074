package xmlstream

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestHeader(t *testing.T) {
	tests := []struct {
		name, in  string
		defaultNS string
		attrs     []Attr
	}{
		{
			name:      "client",
			in:        `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>`,
			defaultNS: ClientNamespace,
			attrs:     []Attr{{"", "to", "example.com"}, {"", "version", "1.0"}, {XMLNamespace, "lang", "en"}},
		},
		{
			name:      "xml declaration and whitespace",
			in:        "<?xml version='1.0' encoding='utf-8' standalone=\"yes\" ?>\r\n <stream:stream xmlns:stream=\"http://etherx.jabber.org/streams\" xmlns=\"jabber:server\" from=\"a.example\">",
			defaultNS: ServerNamespace,
			attrs:     []Attr{{"", "from", "a.example"}},
		},
		{
			name:      "byte order mark",
			in:        "\xEF\xBB\xBF<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>",
			defaultNS: "",
		},
		{
			name:      "unprefixed stream element",
			in:        `<stream xmlns='http://etherx.jabber.org/streams' id='x'>`,
			defaultNS: StreamsNamespace,
			attrs:     []Attr{{"", "id", "x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewParser(bufio.NewReader(strings.NewReader(tt.in)), Limits{})
			h, err := p.ReadHeader()
			if err != nil {
				t.Fatal(err)
			}
			if h.DefaultNS != tt.defaultNS || !reflect.DeepEqual(h.Attrs, tt.attrs) && len(h.Attrs)+len(tt.attrs) > 0 {
				t.Fatalf("header = %+v, want ns %q attrs %+v", h, tt.defaultNS, tt.attrs)
			}
			if p.InputOffset() != int64(len(tt.in)) {
				t.Errorf("InputOffset = %d, want %d", p.InputOffset(), len(tt.in))
			}
		})
	}
}

func TestHeaderHelpers(t *testing.T) {
	p := NewParser(bufio.NewReader(strings.NewReader(`<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='x' xml:lang='de'>`)), Limits{})
	h, err := p.ReadHeader()
	if err != nil {
		t.Fatal(err)
	}
	if h.Attr("to") != "x" || h.Lang() != "de" || h.Attr("lang") != "" {
		t.Fatalf("to=%q lang=%q", h.Attr("to"), h.Lang())
	}
}

func TestStanzasAndClose(t *testing.T) {
	in := testHeader +
		"<message to='a@b' type='chat'><body>hi</body></message>" +
		" \n\t\r " + // whitespace keep-alive
		"<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>\n" +
		"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" +
		"</stream:stream >"
	res := parseString(in, Limits{})
	if !errors.Is(res.Err, ErrStreamClosed) {
		t.Fatalf("err = %v, want ErrStreamClosed", res.Err)
	}
	want := []string{
		`{jabber:client}message[ {}to="a@b" {}type="chat" ]({jabber:client}body[ ]("hi"))`,
		`{jabber:client}iq[ {}type="get" {}id="1" ]({urn:xmpp:ping}ping[ ]())`,
		`{urn:ietf:params:xml:ns:xmpp-tls}starttls[ ]()`,
	}
	if len(res.Elements) != len(want) {
		t.Fatalf("%d elements, want %d", len(res.Elements), len(want))
	}
	for i, el := range res.Elements {
		if got := dump(el); got != want[i] {
			t.Errorf("element %d = %s\nwant %s", i, got, want[i])
		}
	}
}

func TestClosedIsSticky(t *testing.T) {
	p := NewParser(bufio.NewReader(strings.NewReader(testHeader+"</stream:stream><message/>")), Limits{})
	if _, err := p.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := p.Next(); !errors.Is(err, ErrStreamClosed) {
			t.Fatalf("err = %v, want ErrStreamClosed", err)
		}
	}
}

func TestNextBeforeHeader(t *testing.T) {
	p := NewParser(bufio.NewReader(strings.NewReader("<a/>")), Limits{})
	if _, err := p.Next(); err == nil {
		t.Fatal("Next before ReadHeader succeeded")
	}
	if _, err := p.ReadHeader(); err == nil {
		t.Fatal("ReadHeader accepted <a/> as a stream header")
	}
}

func TestEOF(t *testing.T) {
	// EOF between stanzas is io.EOF, inside one io.ErrUnexpectedEOF.
	res := parseString(testHeader+"<message/>  ", Limits{})
	if !errors.Is(res.Err, io.EOF) || len(res.Elements) != 1 {
		t.Fatalf("between stanzas: err = %v, %d elements", res.Err, len(res.Elements))
	}
	res = parseString(testHeader+"<message><bo", Limits{})
	if !errors.Is(res.Err, io.ErrUnexpectedEOF) {
		t.Fatalf("inside a stanza: err = %v", res.Err)
	}
	res = parseString("", Limits{})
	if !errors.Is(res.Err, io.EOF) {
		t.Fatalf("empty stream: err = %v", res.Err)
	}
}

// A stanza is returned as soon as its last byte arrives: the parser must
// not wait for lookahead that an interactive peer will never send.
func TestNoLookaheadPastStanza(t *testing.T) {
	pr, pw := io.Pipe()
	defer pr.Close()
	p := NewParser(bufio.NewReader(pr), Limits{})
	go func() {
		_, _ = pw.Write([]byte(testHeader))
		_, _ = pw.Write([]byte("<message><body>a]</body></message>"))
		_, _ = pw.Write([]byte("<presence/>"))
		// The pipe stays open: a parser that reads ahead would block.
	}()
	if _, err := p.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"message", "presence"} {
		el, err := p.Next()
		if err != nil || el.Local != want {
			t.Fatalf("got %v, %v; want <%s>", el, err, want)
		}
	}
}

// Bytes after a returned element stay in the bufio.Reader, so a STARTTLS
// handler can see (and refuse) plaintext pipelined after <starttls/>.
func TestDoesNotConsumePastElement(t *testing.T) {
	const injected = "<iq type='set'>injected</iq>"
	for _, size := range []int{16, 64, 4096} {
		br := bufio.NewReaderSize(strings.NewReader(testHeader+"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"+injected), size)
		p := NewParser(br, Limits{})
		if _, err := p.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		if el, err := p.Next(); err != nil || el.Local != "starttls" {
			t.Fatalf("got %v, %v", el, err)
		}
		rest, _ := io.ReadAll(br)
		if string(rest) != injected {
			t.Fatalf("bufio size %d: left %q in the reader, want %q", size, rest, injected)
		}
	}
}

func TestReset(t *testing.T) {
	// First stream declares xmlns:x on the header and errors; after a
	// restart on the same reader nothing of it survives.
	first := `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xmlns:x='urn:x'>` +
		`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>AGFAYg==</auth>`
	second := `<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'><x:y/>`
	br := bufio.NewReader(strings.NewReader(first + second))
	p := NewParser(br, Limits{})
	if _, err := p.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	el, err := p.Next()
	if err != nil || el.Text() != "AGFAYg==" {
		t.Fatalf("auth: %v, %v", el, err)
	}
	p.Reset(br)
	if p.InputOffset() != 0 {
		t.Fatalf("InputOffset after Reset = %d", p.InputOffset())
	}
	h, err := p.ReadHeader()
	if err != nil || h.DefaultNS != ServerNamespace {
		t.Fatalf("restart header: %+v, %v", h, err)
	}
	if _, err := p.Next(); !errors.Is(err, ErrNotWellFormed) || !strings.Contains(err.Error(), "undeclared") {
		t.Fatalf("x prefix survived the restart: %v", err)
	}
	// Reset clears the sticky error too.
	p.Reset(bufio.NewReader(strings.NewReader(testHeader + "<presence/>")))
	if _, err := p.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	if el, err := p.Next(); err != nil || el.Local != "presence" {
		t.Fatalf("after reset: %v, %v", el, err)
	}
}

func TestRestartWithoutReset(t *testing.T) {
	res := parseString(testHeader+"<message/>"+testHeader, Limits{})
	if !errors.Is(res.Err, ErrBadFormat) || len(res.Elements) != 1 {
		t.Fatalf("err = %v after %d elements, want bad-format after 1", res.Err, len(res.Elements))
	}
}

// scriptReader returns its steps in order: a string or an error.
type scriptReader struct{ steps []any }

func (s *scriptReader) Read(b []byte) (int, error) {
	if len(s.steps) == 0 {
		return 0, io.EOF
	}
	step := s.steps[0]
	s.steps = s.steps[1:]
	if err, ok := step.(error); ok {
		return 0, err
	}
	return copy(b, step.(string)), nil
}

var errTimeout = errors.New("i/o timeout")

func TestReadErrors(t *testing.T) {
	// A read error while waiting for a stanza (an idle timeout) is
	// returned wrapped and leaves the parser usable.
	r := &scriptReader{steps: []any{testHeader, errTimeout, " ", errTimeout, "<presence/>"}}
	p := NewParser(bufio.NewReader(r), Limits{})
	if _, err := p.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := p.Next(); !errors.Is(err, errTimeout) {
			t.Fatalf("err = %v, want the timeout", err)
		}
	}
	if el, err := p.Next(); err != nil || el.Local != "presence" {
		t.Fatalf("after timeouts: %v, %v", el, err)
	}
	// Inside a stanza the error ends the stream.
	r = &scriptReader{steps: []any{testHeader, "<message><bo", errTimeout, "dy/></message>"}}
	p = NewParser(bufio.NewReader(r), Limits{})
	if _, err := p.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := p.Next(); !errors.Is(err, errTimeout) {
			t.Fatalf("err = %v, want the timeout (sticky)", err)
		}
	}
}

func TestStreamErrorType(t *testing.T) {
	res := parseString(testHeader+"<message><!-- x --></message>", Limits{})
	var se *StreamError
	if !errors.As(res.Err, &se) {
		t.Fatalf("err = %T %v, want *StreamError", res.Err, res.Err)
	}
	if se.Condition != RestrictedXML || se.Offset != int64(len(testHeader)+len("<message>")) {
		t.Fatalf("got %+v", se)
	}
	if !errors.Is(res.Err, ErrRestrictedXML) || errors.Is(res.Err, ErrNotWellFormed) {
		t.Fatal("errors.Is does not match by condition")
	}
	if ConditionOf(res.Err) != RestrictedXML || ConditionOf(io.EOF) != "" {
		t.Fatal("ConditionOf")
	}
	if !strings.Contains(se.Error(), "restricted-xml") {
		t.Fatalf("Error() = %q", se.Error())
	}
}

// Parsers on different goroutines share only read-only tables and the
// writer's buffer pool; run with -race.
func TestConcurrentParsers(t *testing.T) {
	want := parseString(richStream, Limits{})
	done := make(chan error)
	for range 4 {
		go func() {
			for range 20 {
				res := parseString(richStream, Limits{})
				if !reflect.DeepEqual(res.Elements, want.Elements) {
					done <- errors.New("different result")
					return
				}
				for _, el := range res.Elements {
					if _, err := el.WriteTo(io.Discard); err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
