package xmlstream

import (
	"bufio"
	"errors"
	"io"
)

// Limits bound what one peer can make the parser read and build. They are
// checked while bytes arrive, so an oversized or over-deep stanza is
// rejected before it is buffered whole.
type Limits struct {
	// MaxStanzaSize is the largest depth-1 element, in bytes as sent
	// (from its '<' to its final '>'). 0 means unlimited; set it on
	// anything facing the network. A stanza that exceeds it fails with
	// policy-violation after at most MaxStanzaSize plus one read buffer
	// of bytes. It also bounds attribute values and character data.
	MaxStanzaSize int
	// MaxDepth is the deepest element nesting within a stanza; the
	// stanza element itself is depth 1. 0 means DefaultMaxDepth.
	MaxDepth int
	// MaxAttrs is the most attributes one element may carry, namespace
	// declarations included. 0 means DefaultMaxAttrs.
	MaxAttrs int
	// MaxNameLen is the longest qualified name (prefix:local) in bytes.
	// 0 means DefaultMaxNameLen.
	MaxNameLen int
}

// Defaults for zero Limits fields.
const (
	DefaultMaxDepth   = 64
	DefaultMaxAttrs   = 64
	DefaultMaxNameLen = 1024
)

// maxHeaderSize bounds the stream header (with any XML declaration) even
// when MaxStanzaSize is unlimited: real headers are a few hundred bytes.
const maxHeaderSize = 16 << 10

func (l Limits) withDefaults() Limits {
	if l.MaxStanzaSize < 0 {
		l.MaxStanzaSize = 0
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxAttrs <= 0 {
		l.MaxAttrs = DefaultMaxAttrs
	}
	if l.MaxNameLen <= 0 {
		l.MaxNameLen = DefaultMaxNameLen
	}
	return l
}

// StreamHeader is the opening <stream:stream> tag of a stream.
type StreamHeader struct {
	// DefaultNS is the default namespace in scope after the header: the
	// content namespace (jabber:client, jabber:server), "" if undeclared.
	DefaultNS string
	// Attrs holds the header's attributes with resolved namespaces
	// (xml:lang has Space XMLNamespace); namespace declarations are not
	// attributes and are left out.
	Attrs []Attr
}

// Attr returns the value of the unqualified attribute local ("to",
// "from", "version", "id"), or "".
func (h *StreamHeader) Attr(local string) string { return attrValue(h.Attrs, "", local) }

// Lang returns the xml:lang of the header, or "".
func (h *StreamHeader) Lang() string { return attrValue(h.Attrs, XMLNamespace, "lang") }

// Parser reads one XMPP stream: a header, then stanzas until the peer
// closes the stream. It is not safe for concurrent use; one goroutine per
// connection owns it.
//
// The parser never consumes bytes from the bufio.Reader beyond the end of
// what it returned, so after <starttls/> any plaintext the peer pipelined
// is still visible in the reader's Buffered count (refuse it: accepting it
// is the STARTTLS command injection class of bug).
type Parser struct {
	r   *bufio.Reader
	lim Limits

	// The unit being parsed (header or stanza) is data[0:]; offsets in
	// events are relative to it. data is the reader's own buffer (peeked,
	// not yet discarded) until the unit outgrows it; then it is buf.
	data    []byte
	buf     []byte
	copying bool
	pending int   // bytes at the tail of buf still undiscarded in r
	limit   int   // size limit of the unit, 0 = none
	base    int64 // stream offset of data[0]

	// Pass 1 output: the unit as a flat list of events.
	events []event
	open   []openElem
	nElems int
	nAttrs int
	nNodes int

	// Pass 2 state: namespace bindings in scope (the header's first),
	// and the open elements as indices (no pointers kept between calls).
	bind    []binding
	hdrBind int
	stack   []int
	marks   []int
	scratch []byte

	hdrName   string // the stream element's qualified name as sent
	gotHeader bool
	err       error // sticky: once the stream is broken it stays broken
}

// NewParser returns a parser reading from r, which should live as long as
// the connection (or until a STARTTLS restart replaces it).
func NewParser(r *bufio.Reader, lim Limits) *Parser {
	return &Parser{r: r, lim: lim.withDefaults()}
}

// Reset prepares p for a new stream read from r, as after a STARTTLS or
// SASL restart: the header, namespaces and any error are forgotten; the
// limits and internal buffers are kept. r may be the same reader.
func (p *Parser) Reset(r *bufio.Reader) {
	p.r = r
	p.data = nil
	p.copying = false
	p.pending = 0
	p.base = 0
	p.bind = p.bind[:0]
	p.hdrBind = 0
	p.hdrName = ""
	p.gotHeader = false
	p.err = nil
	if cap(p.buf) > maxKeptBuffer {
		p.buf = nil
	}
}

// InputOffset returns the number of stream bytes consumed since NewParser
// or Reset.
func (p *Parser) InputOffset() int64 { return p.base }

// errNoHeader is returned when Next is called before ReadHeader.
var errNoHeader = errors.New("xmlstream: Next called before ReadHeader")

// ReadHeader reads an optional XML declaration and the stream header. It
// fails with invalid-namespace if the stream element is not in the
// http://etherx.jabber.org/streams namespace; checking the content
// namespace (DefaultNS) and the attributes is up to the caller.
func (p *Parser) ReadHeader() (*StreamHeader, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.gotHeader {
		return nil, errors.New("xmlstream: ReadHeader called twice without Reset")
	}
	if err := p.window(); err != nil {
		return nil, err // nothing consumed: the caller may retry
	}
	h, err := p.readHeader()
	if err != nil {
		p.abort(err)
		return nil, err
	}
	p.gotHeader = true
	return h, nil
}

// Next returns the next complete depth-1 element of the stream, skipping
// whitespace between elements. It returns ErrStreamClosed when the peer
// sends </stream:stream>, a *StreamError for input that must end the
// stream, and wrapped read errors (io.EOF between stanzas,
// io.ErrUnexpectedEOF inside one). A read error that happens before any
// byte of a stanza arrived (an idle timeout) leaves the parser usable.
func (p *Parser) Next() (*Element, error) {
	if p.err != nil {
		return nil, p.err
	}
	if !p.gotHeader {
		return nil, errNoHeader
	}
	if err := p.skipSpace(); err != nil {
		return nil, err
	}
	el, err := p.next()
	if err != nil {
		p.abort(err)
		return nil, err
	}
	return el, nil
}

func (p *Parser) abort(err error) {
	p.err = err
	p.data = nil
	p.bind = p.bind[:min(len(p.bind), p.hdrBind)]
}

// window waits for at least one byte and makes data the reader's
// buffered bytes, starting a new unit.
func (p *Parser) window() error {
	if p.r.Buffered() == 0 {
		if _, err := p.r.Peek(1); err != nil {
			return readError(err)
		}
	}
	p.data, _ = p.r.Peek(p.r.Buffered())
	p.copying = false
	p.pending = 0
	return nil
}

// skipSpace consumes whitespace keep-alives at depth 1 and leaves data
// starting at the next non-space byte. Whitespace is discarded as it is
// seen, so an endless keep-alive stream is never buffered.
func (p *Parser) skipSpace() error {
	for {
		if err := p.window(); err != nil {
			return err
		}
		n := 0
		for n < len(p.data) && class[p.data[n]]&cSpace != 0 {
			n++
		}
		if n == 0 {
			return nil
		}
		_, _ = p.r.Discard(n) // n bytes are buffered: cannot fail
		p.base += int64(n)
		if n < len(p.data) {
			p.data = p.data[n:]
			return nil
		}
	}
}

// more makes at least one more byte of the unit available in data, or
// fails. Offsets into data stay valid: data only ever grows at the end
// (the reader may move its buffer, but nothing is discarded mid-unit).
func (p *Parser) more() error {
	if p.limit > 0 && len(p.data) >= p.limit {
		return p.fail(PolicyViolation, len(p.data), "size limit exceeded")
	}
	if !p.copying {
		n := len(p.data)
		if n < p.r.Size() {
			if _, err := p.r.Peek(n + 1); err != nil {
				return p.readFailed(err)
			}
			p.data, _ = p.r.Peek(p.r.Buffered())
			return nil
		}
		// The unit outgrew the reader's buffer: continue in our own.
		p.buf = append(p.buf[:0], p.data...)
		p.pending = n
		p.copying = true
	}
	_, _ = p.r.Discard(p.pending) // copied already, still buffered
	p.pending = 0
	if _, err := p.r.Peek(1); err != nil {
		return p.readFailed(err)
	}
	w, _ := p.r.Peek(p.r.Buffered())
	p.buf = append(p.buf, w...)
	p.pending = len(w)
	p.data = p.buf
	return nil
}

func (p *Parser) readFailed(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return readError(err)
}

// need makes data[i] available.
func (p *Parser) need(i int) error {
	for i >= len(p.data) {
		if err := p.more(); err != nil {
			return err
		}
	}
	return nil
}

// A parser keeps scratch space up to these sizes between stanzas; an
// occasional large stanza does not pin memory on an idle connection.
const (
	maxKeptBuffer = 16 << 10 // bytes
	maxKeptEvents = 512      // 32 KiB of events
)

// finish consumes the unit's first end bytes from the reader, leaving
// anything after them buffered there.
func (p *Parser) finish(end int) {
	if p.copying {
		_, _ = p.r.Discard(p.pending - (len(p.buf) - end))
		if cap(p.buf) > maxKeptBuffer {
			p.buf = nil
		}
	} else {
		_, _ = p.r.Discard(end)
	}
	p.base += int64(end)
	p.data = nil
	p.copying = false
	p.pending = 0
	if cap(p.events) > maxKeptEvents {
		p.events = nil
	}
	if cap(p.scratch) > maxKeptBuffer {
		p.scratch = nil
	}
}

func (p *Parser) fail(cond Condition, i int, text string) error {
	return &StreamError{Condition: cond, Text: text, Offset: p.base + int64(i)}
}
