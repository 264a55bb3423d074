package xmlstream

import (
	"strings"
	"unicode/utf8"
)

// readHeader reads the prolog and the stream header.
func (p *Parser) readHeader() (*StreamHeader, error) {
	p.limit = maxHeaderSize
	if l := p.lim.MaxStanzaSize; l > 0 && l < p.limit {
		p.limit = l
	}
	i, err := p.prolog()
	if err != nil {
		return nil, err
	}
	p.resetEvents()
	end, closed, err := p.scanStartTag(i)
	if err != nil {
		return nil, err
	}
	if closed {
		return nil, p.fail(BadFormat, i, "self-closing stream header")
	}
	if p.limit > 0 && end > p.limit {
		return nil, p.fail(PolicyViolation, end, "size limit exceeded")
	}
	data := p.data[:end]
	s := string(data)
	p.bind = p.bind[:0]
	ev := p.events[0]
	space, local, attrs, err := p.resolveStart(s, data, 0, make([]Attr, 0, ev.n))
	if err != nil {
		return nil, err
	}
	if space != StreamsNamespace {
		return nil, p.fail(InvalidNamespace, i, "stream element in namespace "+space)
	}
	if local != "stream" {
		return nil, p.fail(BadFormat, i, "stream element is <"+local+">, not <stream>")
	}
	p.hdrBind = len(p.bind)
	p.hdrName = strings.Clone(s[ev.a:ev.b])
	def, _ := p.lookup(nil)
	p.open = p.open[:0]
	p.finish(end)
	return &StreamHeader{DefaultNS: def, Attrs: attrs}, nil
}

// prolog skips a byte order mark, an XML declaration and whitespace, and
// returns the offset of the '<' of the stream header.
func (p *Parser) prolog() (int, error) {
	i := 0
	if p.data[0] == 0xEF {
		if err := p.need(2); err != nil {
			return 0, err
		}
		if p.data[1] == 0xBB && p.data[2] == 0xBF {
			i = 3
		}
	}
	if err := p.need(i + 1); err != nil {
		return 0, err
	}
	if p.data[i] == '<' && p.data[i+1] == '?' {
		if err := p.need(i + 5); err != nil {
			return 0, err
		}
		if string(p.data[i+2:i+5]) != "xml" || class[p.data[i+5]]&cName != 0 {
			return 0, p.fail(RestrictedXML, i, "processing instruction")
		}
		var err error
		if i, err = p.xmlDecl(i + 5); err != nil {
			return 0, err
		}
	}
	i, err := p.skipWS(i)
	if err != nil {
		return 0, err
	}
	if err := p.need(i + 1); err != nil {
		return 0, err
	}
	switch {
	case p.data[i] != '<':
		return 0, p.fail(NotWellFormed, i, "expected the stream header")
	case p.data[i+1] == '!':
		return 0, p.fail(RestrictedXML, i, "DTD or comment before the stream header")
	case p.data[i+1] == '?':
		return 0, p.fail(RestrictedXML, i, "processing instruction")
	case p.data[i+1] == '/':
		return 0, p.fail(NotWellFormed, i, "end tag before the stream header")
	}
	return i, nil
}

// xmlDecl checks the pseudo-attributes of an XML declaration starting at
// data[i] (just after "<?xml") and returns the offset after "?>".
func (p *Parser) xmlDecl(i int) (int, error) {
	seen := 0
	for {
		sp := i
		var err error
		if i, err = p.skipWS(i); err != nil {
			return 0, err
		}
		if p.data[i] == '?' {
			if err := p.need(i + 1); err != nil {
				return 0, err
			}
			if p.data[i+1] != '>' || seen == 0 {
				return 0, p.fail(NotWellFormed, i, "malformed XML declaration")
			}
			return i + 2, nil
		}
		if i == sp {
			return 0, p.fail(NotWellFormed, i, "malformed XML declaration")
		}
		nEnd, _, err := p.scanName(i)
		if err != nil {
			return 0, err
		}
		order := 0
		switch string(p.data[i:nEnd]) {
		case "version":
			order = 1
		case "encoding":
			order = 2
		case "standalone":
			order = 3
		}
		if order == 0 || order <= seen || seen == 0 && order != 1 {
			return 0, p.fail(NotWellFormed, i, "malformed XML declaration")
		}
		seen = order
		if i, err = p.skipWS(nEnd); err != nil {
			return 0, err
		}
		if p.data[i] != '=' {
			return 0, p.fail(NotWellFormed, i, "malformed XML declaration")
		}
		if i, err = p.skipWS(i + 1); err != nil {
			return 0, err
		}
		q := p.data[i]
		if q != '"' && q != '\'' {
			return 0, p.fail(NotWellFormed, i, "malformed XML declaration")
		}
		vStart := i + 1
		for i = vStart; ; i++ {
			if err := p.need(i); err != nil {
				return 0, err
			}
			c := p.data[i]
			if c == q {
				break
			}
			if c >= utf8.RuneSelf || class[c]&cName == 0 || c == ':' {
				return 0, p.fail(NotWellFormed, i, "malformed XML declaration")
			}
		}
		v := string(p.data[vStart:i])
		i++
		switch order {
		case 1:
			if len(v) < 3 || v[:2] != "1." || strings.Trim(v[2:], "0123456789") != "" {
				return 0, p.fail(NotWellFormed, vStart, "unsupported XML version "+v)
			}
		case 2:
			if !strings.EqualFold(v, "UTF-8") {
				return 0, p.fail(UnsupportedEncoding, vStart, "encoding "+v+" (only UTF-8 is allowed)")
			}
		case 3:
			if v != "yes" && v != "no" {
				return 0, p.fail(NotWellFormed, vStart, "malformed XML declaration")
			}
		}
	}
}
