package xmlstream

import (
	"io"
	"strconv"
	"sync"
	"unicode/utf8"
)

// The writer serialises by hand (never with encoding/xml's Encoder, whose
// output is not stable across round trips and which writes xml:lang as
// xmlns:_xml). Elements are never prefixed: an element declares xmlns only
// where its namespace differs from its parent's, so a stanza written into
// a jabber:client stream carries no xmlns at all. Namespaced attributes
// other than xml:* get a prefix declared on their own element.

// Fixed pieces of a stream.
const (
	XMLDeclaration = "<?xml version='1.0'?>"
	StreamClose    = "</stream:stream>"
)

// AppendXML appends the XML form of e to dst. parentNS is the default
// namespace in scope where e is written (the stream's content namespace
// for a stanza); e declares xmlns only if its Space differs.
//
// Text is escaped (& < > and CR as &#xD;); attribute values too (& < "
// and TAB, LF, CR as character references, which an XML parser would
// otherwise normalise to spaces), so parse, write, parse yields the same
// tree. Characters XML cannot carry (invalid UTF-8, control characters)
// are written as U+FFFD. Names are written as given: they must be valid
// XML names, which parsed ones always are. Attributes named xmlns are
// skipped; namespaces come from Space fields only.
func (e *Element) AppendXML(dst []byte, parentNS string) []byte {
	// The XML namespace cannot be a default namespace; its elements
	// (rare, but legal) keep the predeclared xml prefix.
	prefix, childNS := "", e.Space
	if e.Space == XMLNamespace {
		prefix, childNS = "xml:", parentNS
	}
	dst = append(dst, '<')
	dst = append(dst, prefix...)
	dst = append(dst, e.Local...)
	if childNS != parentNS {
		dst = append(dst, ` xmlns="`...)
		dst = appendEscaped(dst, e.Space, true)
		dst = append(dst, '"')
	}
	dst = appendAttrs(dst, e.Attrs)
	if len(e.Children) == 0 {
		return append(dst, "/>"...)
	}
	dst = append(dst, '>')
	for _, n := range e.Children {
		switch n := n.(type) {
		case *Element:
			if n != nil {
				dst = n.AppendXML(dst, childNS)
			}
		case CharData:
			dst = appendEscaped(dst, string(n), false)
		}
	}
	dst = append(dst, "</"...)
	dst = append(dst, prefix...)
	dst = append(dst, e.Local...)
	return append(dst, '>')
}

func appendAttrs(dst []byte, attrs []Attr) []byte {
	for i, a := range attrs {
		switch a.Space {
		case "":
			if a.Local == "xmlns" {
				continue
			}
			dst = append(dst, ' ')
		case XMLNamespace:
			dst = append(dst, " xml:"...)
		case xmlnsNamespace:
			continue
		default:
			// Reuse the prefix of an earlier attribute in the same
			// namespace; otherwise declare "ns<i>" (unique per element).
			p := i
			for j := range attrs[:i] {
				if attrs[j].Space == a.Space {
					p = j
					break
				}
			}
			if p == i {
				dst = append(dst, " xmlns:ns"...)
				dst = strconv.AppendInt(dst, int64(i), 10)
				dst = append(dst, `="`...)
				dst = appendEscaped(dst, a.Space, true)
				dst = append(dst, '"')
			}
			dst = append(dst, " ns"...)
			dst = strconv.AppendInt(dst, int64(p), 10)
			dst = append(dst, ':')
		}
		dst = append(dst, a.Local...)
		dst = append(dst, `="`...)
		dst = appendEscaped(dst, a.Value, true)
		dst = append(dst, '"')
	}
	return dst
}

// Bytes that need more than a copy: escapes in text (t) and in attribute
// values (a); both for control characters and non-ASCII (validated).
var escClass = func() (c [256]uint8) {
	for i := range c {
		if i < 0x20 || i >= utf8.RuneSelf {
			c[i] = 3
		}
	}
	c['\t'], c['\n'] = 2, 2 // fine in text, escaped in attributes
	c['&'], c['<'] = 3, 3
	c['>'] = 1
	c['"'] = 2
	return c
}()

func appendEscaped(dst []byte, s string, attr bool) []byte {
	mask := uint8(1)
	if attr {
		mask = 2
	}
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if escClass[c]&mask == 0 {
			i++
			continue
		}
		var esc string
		n := 1
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&quot;"
		case '\r':
			esc = "&#xD;"
		case '\n':
			esc = "&#xA;"
		case '\t':
			esc = "&#x9;"
		default:
			if c < utf8.RuneSelf {
				esc = "\uFFFD"
				break
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			n = size
			if (r != utf8.RuneError || size > 1) && isXMLChar(r) {
				i += size
				continue
			}
			esc = "\uFFFD"
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, esc...)
		i += n
		last = i
	}
	return append(dst, s[last:]...)
}

// String returns the XML form of e with its namespace declared.
func (e *Element) String() string { return string(e.AppendXML(nil, "")) }

var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// WriteTo writes the XML form of e, with its namespace declared, in one
// Write call. To write a stanza into a stream use AppendXML with the
// stream's content namespace instead.
func (e *Element) WriteTo(w io.Writer) (int64, error) {
	bp := writeBufs.Get().(*[]byte)
	b := e.AppendXML((*bp)[:0], "")
	n, err := w.Write(b)
	if cap(b) <= maxKeptBuffer {
		*bp = b
		writeBufs.Put(bp)
	}
	return int64(n), err
}

// AppendStreamHeader appends an opening <stream:stream> tag declaring
// h.DefaultNS as the default namespace and the stream prefix, followed by
// h.Attrs (from, to, id, version, xml:lang). No XML declaration is
// written; prepend XMLDeclaration if wanted.
func AppendStreamHeader(dst []byte, h *StreamHeader) []byte {
	dst = append(dst, "<stream:stream"...)
	if h.DefaultNS != "" {
		dst = append(dst, ` xmlns="`...)
		dst = appendEscaped(dst, h.DefaultNS, true)
		dst = append(dst, '"')
	}
	dst = append(dst, ` xmlns:stream="`+StreamsNamespace+`"`...)
	dst = appendAttrs(dst, h.Attrs)
	return append(dst, '>')
}

// AppendStreamError appends <stream:error/> with the condition and an
// optional human-readable text; it is meant to be followed by StreamClose.
func AppendStreamError(dst []byte, cond Condition, text string) []byte {
	dst = append(dst, "<stream:error><"...)
	dst = append(dst, cond...)
	dst = append(dst, ` xmlns="`+StreamErrorsNamespace+`"/>`...)
	if text != "" {
		dst = append(dst, `<text xmlns="`+StreamErrorsNamespace+`">`...)
		dst = appendEscaped(dst, text, false)
		dst = append(dst, "</text>"...)
	}
	return append(dst, "</stream:error>"...)
}
