// Package storedxml reads back elements that modules keep in the store as XML text
// (vCards, private XML), with the server's own parser and its limits.
package storedxml

import (
	"bufio"
	"strings"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

const open = `<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">`

// Parse parses one element written by Element.String.
func Parse(s string) (*xmlstream.Element, error) {
	p := xmlstream.NewParser(bufio.NewReader(strings.NewReader(open+s)), xmlstream.Limits{})
	if _, err := p.ReadHeader(); err != nil {
		return nil, err
	}
	return p.Next()
}
