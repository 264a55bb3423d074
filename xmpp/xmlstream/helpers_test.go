package xmlstream

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// shortHeader is 63 bytes with one attribute and names up to 13 bytes,
// so limit tests can use small limits.
const shortHeader = `<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`

const testHeader = `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>`

// result is everything a parser produced from one input, comparable with
// reflect.DeepEqual across reading strategies.
type result struct {
	Header   *StreamHeader
	Elements []*Element
	Err      error
}

// errKey reduces an error to what must not depend on how bytes arrived.
func errKey(err error) string {
	var se *StreamError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se):
		return string(se.Condition) + ": " + se.Text
	case errors.Is(err, ErrStreamClosed):
		return "closed"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	case errors.Is(err, io.EOF):
		return "EOF"
	}
	return "other: " + err.Error()
}

// parseWith parses a whole stream read through r with a bufio.Reader of
// bufSize bytes, until the first error.
func parseWith(r io.Reader, bufSize int, lim Limits) result {
	p := NewParser(bufio.NewReaderSize(r, bufSize), lim)
	var res result
	res.Header, res.Err = p.ReadHeader()
	for res.Err == nil {
		var el *Element
		el, res.Err = p.Next()
		if el != nil {
			res.Elements = append(res.Elements, el)
		}
	}
	return res
}

func parseString(s string, lim Limits) result {
	return parseWith(strings.NewReader(s), 4096, lim)
}

// parseStanzas parses body inside the test header, closing the stream.
func parseStanzas(t *testing.T, body string) []*Element {
	t.Helper()
	res := parseString(testHeader+body+"</stream:stream>", Limits{})
	if !errors.Is(res.Err, ErrStreamClosed) {
		t.Fatalf("parse %q: %v", body, res.Err)
	}
	return res.Elements
}

func parseOne(t *testing.T, stanza string) *Element {
	t.Helper()
	els := parseStanzas(t, stanza)
	if len(els) != 1 {
		t.Fatalf("parse %q: %d elements, want 1", stanza, len(els))
	}
	return els[0]
}

// readers returns the reading strategies every input must give the same
// result under: whole buffers, one byte per Read, tiny buffers, and reads
// that return data together with io.EOF.
func readers(s string) map[string]func() (io.Reader, int) {
	return map[string]func() (io.Reader, int){
		"whole":       func() (io.Reader, int) { return strings.NewReader(s), 4096 },
		"onebyte-16":  func() (io.Reader, int) { return iotest.OneByteReader(strings.NewReader(s)), 16 },
		"half-16":     func() (io.Reader, int) { return iotest.HalfReader(strings.NewReader(s)), 16 },
		"dataerr-64":  func() (io.Reader, int) { return iotest.DataErrReader(strings.NewReader(s)), 64 },
		"onebyte-512": func() (io.Reader, int) { return iotest.OneByteReader(strings.NewReader(s)), 512 },
	}
}

// dump renders an element tree unambiguously for failure messages.
func dump(e *Element) string {
	var b strings.Builder
	var walk func(e *Element)
	walk = func(e *Element) {
		fmt.Fprintf(&b, "{%s}%s[", e.Space, e.Local)
		for _, a := range e.Attrs {
			fmt.Fprintf(&b, " {%s}%s=%q", a.Space, a.Local, a.Value)
		}
		b.WriteString(" ](")
		for i, n := range e.Children {
			if i > 0 {
				b.WriteString(" ")
			}
			switch n := n.(type) {
			case *Element:
				walk(n)
			case CharData:
				fmt.Fprintf(&b, "%q", string(n))
			}
		}
		b.WriteString(")")
	}
	walk(e)
	return b.String()
}

// countingReader counts the bytes handed to the parser's bufio.Reader.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}
