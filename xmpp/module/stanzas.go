package module

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Stanzas in portable values and handover state travel as XML in the jabber:client
// namespace and are parsed back with the server's own parser and its limits.

const nsClient = "jabber:client"

// streamOpen gives the parser the declarations of a c2s stream, so an unprefixed
// stanza lands in jabber:client exactly as it was.
const streamOpen = `<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">`

var errStanzas = errors.New("module: malformed stanza list")

// StanzaXML returns el as XML in the jabber:client namespace.
func StanzaXML(el *xmlstream.Element) []byte { return el.AppendXML(nil, nsClient) }

// ParseStanza parses one element written by this server: by StanzaXML, or as stored
// (offline messages, archived messages), with the server's own tokenizer. Its input
// was bounded when it was received (max_stanza_size, the mesh's frame size), so no
// size limit applies here: a stanza once accepted must read back.
func ParseStanza(xml []byte) (*xmlstream.Element, error) {
	b := append([]byte(streamOpen), xml...)
	p := xmlstream.NewParser(bufio.NewReader(bytes.NewReader(b)), xmlstream.Limits{})
	if _, err := p.ReadHeader(); err != nil {
		return nil, fmt.Errorf("module: stanza: %w", err)
	}
	el, err := p.Next()
	if err != nil {
		return nil, fmt.Errorf("module: stanza: %w", err)
	}
	return el, nil
}

// EncodeStanzas encodes a list of stanzas: a uvarint count, then each one's XML
// length and XML.
func EncodeStanzas(els []*xmlstream.Element) []byte {
	out := binary.AppendUvarint(nil, uint64(len(els)))
	for _, el := range els {
		x := StanzaXML(el)
		out = binary.AppendUvarint(out, uint64(len(x)))
		out = append(out, x...)
	}
	return out
}

// DecodeStanzas decodes what EncodeStanzas encoded.
func DecodeStanzas(b []byte) ([]*xmlstream.Element, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, errStanzas
	}
	b = b[k:]
	out := make([]*xmlstream.Element, 0, n)
	for range n {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, errStanzas
		}
		el, err := ParseStanza(b[k : k+int(l)])
		if err != nil {
			return nil, err
		}
		out = append(out, el)
		b = b[k+int(l):]
	}
	if len(b) != 0 {
		return nil, errStanzas
	}
	return out, nil
}
