package mesh

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// The mesh speaks length-prefixed frames over the cluster port's authenticated TLS
// connection: a 4-byte big-endian length (of what follows), a type byte, then the
// body. Strings are a uvarint length and the bytes; stanzas are their XML as the
// rest of the body, written with xmlstream's AppendXML in the jabber:client
// namespace and read back with xmlstream's parser, limits enforced.
//
// Frame types are part of the wire format between nodes: never renumber one, and
// bump protocolVersion when a frame's body changes.
const (
	frameHello   byte = 1  // uvarint protocol version
	frameAdd     byte = 2  // string full JID, string host type, varint priority, byte available
	frameRemove  byte = 3  // string full JID
	frameSynced  byte = 4  // the full table sent on connect is complete
	frameRoute   byte = 5  // stanza: route it there (filters, local sessions)
	frameDeliver byte = 6  // string full JID, stanza: hand it to that session as is
	frameStop    byte = 7  // string full JID, string condition, string text
	framePing    byte = 8  // heartbeat
	frameCall    byte = 9  // uvarint call id, string service, request as the rest (call.go)
	frameReply   byte = 10 // uvarint call id, byte status, answer as the rest
)

const protocolVersion = 1

// headerLen is the length prefix.
const headerLen = 4

// nsClient is the namespace stanzas are written in and parsed back into.
const nsClient = "jabber:client"

// streamOpen wraps a stanza for the parser: the same declarations as a c2s stream,
// so an unprefixed stanza lands in jabber:client exactly as it was routed.
const streamOpen = `<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">`

var errMalformed = errors.New("mesh: malformed frame")

// beginFrame appends a frame header with a placeholder length; endFrame patches it.
func beginFrame(dst []byte, typ byte) ([]byte, int) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, typ)
	return dst, start
}

func endFrame(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-headerLen))
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendAdd(dst []byte, full, hostType string, prio int, avail bool) []byte {
	dst, st := beginFrame(dst, frameAdd)
	dst = appendString(dst, full)
	dst = appendString(dst, hostType)
	dst = binary.AppendVarint(dst, int64(prio))
	a := byte(0)
	if avail {
		a = 1
	}
	return endFrame(append(dst, a), st)
}

func appendRemove(dst []byte, full string) []byte {
	dst, st := beginFrame(dst, frameRemove)
	return endFrame(appendString(dst, full), st)
}

func appendEmpty(dst []byte, typ byte) []byte {
	dst, st := beginFrame(dst, typ)
	return endFrame(dst, st)
}

func appendHello(dst []byte) []byte {
	dst, st := beginFrame(dst, frameHello)
	return endFrame(binary.AppendUvarint(dst, protocolVersion), st)
}

func appendRoute(dst []byte, el *xmlstream.Element) []byte {
	dst, st := beginFrame(dst, frameRoute)
	return endFrame(el.AppendXML(dst, nsClient), st)
}

func appendDeliver(dst []byte, full string, el *xmlstream.Element) []byte {
	dst, st := beginFrame(dst, frameDeliver)
	dst = appendString(dst, full)
	return endFrame(el.AppendXML(dst, nsClient), st)
}

func appendStop(dst []byte, full, cond, text string) []byte {
	dst, st := beginFrame(dst, frameStop)
	dst = appendString(dst, full)
	dst = appendString(dst, cond)
	return endFrame(appendString(dst, text), st)
}

// body reads a frame body; the first error sticks and every later read returns
// zero values.
type body struct {
	b   []byte
	err error
}

func (r *body) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errMalformed
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *body) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errMalformed
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *body) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errMalformed
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *body) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = errMalformed
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// rest returns what is left: a stanza's XML.
func (r *body) rest() []byte {
	b := r.b
	r.b = nil
	return b
}

// readFrame reads one frame into buf (grown as needed) and returns its type and
// body. A frame longer than max is an error: the peer is broken or hostile.
func readFrame(br *bufio.Reader, buf []byte, max int) (byte, []byte, []byte, error) {
	var hdr [headerLen]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return 0, nil, buf, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n < 1 || n > max {
		return 0, nil, buf, fmt.Errorf("mesh: frame of %d bytes (limit %d)", n, max)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(br, buf); err != nil {
		return 0, nil, buf, err
	}
	return buf[0], buf[1:], buf, nil
}

// stanzaParser parses stanza frames with the server's own tokenizer, reusing its
// buffers from one frame to the next.
type stanzaParser struct {
	buf []byte
	rd  bytes.Reader
	br  *bufio.Reader
	p   *xmlstream.Parser
}

func newStanzaParser(maxStanza int) *stanzaParser {
	sp := &stanzaParser{}
	sp.br = bufio.NewReaderSize(&sp.rd, 4096)
	sp.p = xmlstream.NewParser(sp.br, xmlstream.Limits{MaxStanzaSize: maxStanza})
	return sp
}

func (sp *stanzaParser) parse(xml []byte) (*xmlstream.Element, error) {
	sp.buf = append(append(sp.buf[:0], streamOpen...), xml...)
	sp.rd.Reset(sp.buf)
	sp.br.Reset(&sp.rd)
	sp.p.Reset(sp.br)
	if _, err := sp.p.ReadHeader(); err != nil {
		return nil, fmt.Errorf("mesh: stanza: %w", err)
	}
	el, err := sp.p.Next()
	if err != nil {
		return nil, fmt.Errorf("mesh: stanza: %w", err)
	}
	switch el.Local {
	case "message", "presence", "iq":
		return el, nil
	}
	return nil, fmt.Errorf("mesh: stanza: unexpected <%s/>", el.Local)
}
