package xmlstream

import (
	"bytes"
	"unicode/utf8"
)

// Pass 1 of parsing a unit: a byte-level scan that checks the lexical
// rules of XML and the restricted-XML profile, enforces the limits as
// bytes arrive, and records the unit as a flat list of events (offsets
// into data, no strings). It never recurses: open elements live in
// p.open, whose length MaxDepth caps.

const (
	evStart uint8 = iota // start tag; n attribute events follow
	evAttr
	evEnd
	evText
)

const (
	fSelfClose uint8 = 1 << iota // evStart: <x/>
	fDecode                      // evAttr, evText: has references or CR/TAB/LF to normalise
	fCDATA                       // evText: a CDATA section (no references)
)

type event struct {
	kind  uint8
	flags uint8
	colon int // offset of the prefix colon in the name, -1 if none
	a, b  int // name, or text
	c, d  int // attribute value
	n     int // evStart: attribute events that follow
	kids  int // evStart: child nodes (adjacent text counts once)
}

type openElem struct {
	a, b int // name, to match the end tag
	ev   int // index of the start event
}

func (p *Parser) resetEvents() {
	p.events = p.events[:0]
	p.open = p.open[:0]
	p.nElems, p.nAttrs, p.nNodes = 0, 0, 0
}

// next reads one depth-1 element; data starts with a non-space byte.
func (p *Parser) next() (*Element, error) {
	p.limit = p.lim.MaxStanzaSize
	if p.data[0] != '<' {
		return nil, p.fail(BadFormat, 0, "character data between stanzas")
	}
	if err := p.need(1); err != nil {
		return nil, err
	}
	switch p.data[1] {
	case '/':
		return nil, p.closeStream()
	case '?':
		return nil, p.fail(RestrictedXML, 0, "processing instruction")
	case '!':
		if err := p.need(2); err != nil {
			return nil, err
		}
		if p.data[2] == '[' {
			return nil, p.fail(BadFormat, 0, "CDATA section between stanzas")
		}
		return nil, p.fail(RestrictedXML, 0, "comment or markup declaration")
	}
	p.resetEvents()
	end, err := p.scanElement()
	if err != nil {
		return nil, err
	}
	if p.limit > 0 && end > p.limit {
		return nil, p.fail(PolicyViolation, end, "size limit exceeded")
	}
	el, err := p.build(end)
	if err != nil {
		return nil, err
	}
	p.finish(end)
	return el, nil
}

// closeStream handles an end tag at depth 0: it must close the stream.
func (p *Parser) closeStream() error {
	end, _, err := p.scanName(2)
	if err != nil {
		return err
	}
	if string(p.data[2:end]) != p.hdrName {
		return p.fail(NotWellFormed, 2, "end tag </"+string(p.data[2:end])+"> does not match <"+p.hdrName+">")
	}
	i, err := p.skipWS(end)
	if err != nil {
		return err
	}
	if p.data[i] != '>' {
		return p.fail(NotWellFormed, i, "malformed end tag")
	}
	p.finish(i + 1)
	return ErrStreamClosed
}

// scanElement scans one element starting at data[0] == '<' and returns
// the offset just past its final '>'.
func (p *Parser) scanElement() (int, error) {
	i, closed, err := p.scanStartTag(0)
	if err != nil || closed {
		return i, err
	}
	for {
		if err := p.need(i); err != nil {
			return 0, err
		}
		if p.data[i] != '<' {
			if i, err = p.scanText(i); err != nil {
				return 0, err
			}
			continue
		}
		if err := p.need(i + 1); err != nil {
			return 0, err
		}
		switch p.data[i+1] {
		case '/':
			if i, err = p.scanEndTag(i); err != nil {
				return 0, err
			}
			if len(p.open) == 0 {
				return i, nil
			}
		case '!':
			if i, err = p.scanBang(i); err != nil {
				return 0, err
			}
		case '?':
			return 0, p.fail(RestrictedXML, i, "processing instruction")
		default:
			if i, _, err = p.scanStartTag(i); err != nil {
				return 0, err
			}
		}
	}
}

// addChild counts a new child node of the innermost open element.
func (p *Parser) addChild() {
	if n := len(p.open); n > 0 {
		p.events[p.open[n-1].ev].kids++
		p.nNodes++
	}
}

// scanStartTag scans a start tag at data[i] == '<'. It returns the offset
// after '>' and whether the tag was self-closing; an open element is
// pushed otherwise.
func (p *Parser) scanStartTag(i int) (int, bool, error) {
	if len(p.open) >= p.lim.MaxDepth {
		return 0, false, p.fail(PolicyViolation, i, "element nesting too deep")
	}
	nameStart := i + 1
	end, colon, err := p.scanName(nameStart)
	if err != nil {
		return 0, false, err
	}
	if len(p.open) == 0 && p.hdrName != "" && string(p.data[nameStart:end]) == p.hdrName {
		return 0, false, p.fail(BadFormat, i, "stream header inside the stream")
	}
	p.addChild()
	ev := len(p.events)
	p.events = append(p.events, event{kind: evStart, a: nameStart, b: end, colon: colon})
	p.nElems++
	i = end
	nattr := 0
	for {
		sp := i
		if i, err = p.skipWS(i); err != nil {
			return 0, false, err
		}
		switch p.data[i] {
		case '>':
			p.events[ev].n = nattr
			p.nAttrs += nattr
			p.open = append(p.open, openElem{a: nameStart, b: end, ev: ev})
			return i + 1, false, nil
		case '/':
			if err := p.need(i + 1); err != nil {
				return 0, false, err
			}
			if p.data[i+1] != '>' {
				return 0, false, p.fail(NotWellFormed, i, "expected '>' after '/' in a start tag")
			}
			p.events[ev].n = nattr
			p.events[ev].flags = fSelfClose
			p.nAttrs += nattr
			return i + 2, true, nil
		}
		if i == sp {
			return 0, false, p.fail(NotWellFormed, i, "expected whitespace before an attribute")
		}
		if nattr++; nattr > p.lim.MaxAttrs {
			return 0, false, p.fail(PolicyViolation, i, "too many attributes")
		}
		aStart := i
		aEnd, aColon, err := p.scanName(i)
		if err != nil {
			return 0, false, err
		}
		if i, err = p.skipWS(aEnd); err != nil {
			return 0, false, err
		}
		if p.data[i] != '=' {
			return 0, false, p.fail(NotWellFormed, i, "attribute without a value")
		}
		if i, err = p.skipWS(i + 1); err != nil {
			return 0, false, err
		}
		q := p.data[i]
		if q != '"' && q != '\'' {
			return 0, false, p.fail(NotWellFormed, i, "unquoted attribute value")
		}
		vEnd, fl, err := p.scanAttrValue(i+1, q)
		if err != nil {
			return 0, false, err
		}
		p.events = append(p.events, event{kind: evAttr, flags: fl, a: aStart, b: aEnd, colon: aColon, c: i + 1, d: vEnd})
		i = vEnd + 1
	}
}

// scanEndTag scans an end tag at data[i:] == "</" and pops the element.
func (p *Parser) scanEndTag(i int) (int, error) {
	end, _, err := p.scanName(i + 2)
	if err != nil {
		return 0, err
	}
	top := p.open[len(p.open)-1]
	if !bytes.Equal(p.data[i+2:end], p.data[top.a:top.b]) {
		return 0, p.fail(NotWellFormed, i, "end tag </"+string(p.data[i+2:end])+"> does not match <"+string(p.data[top.a:top.b])+">")
	}
	if i, err = p.skipWS(end); err != nil {
		return 0, err
	}
	if p.data[i] != '>' {
		return 0, p.fail(NotWellFormed, i, "malformed end tag")
	}
	p.open = p.open[:len(p.open)-1]
	p.events = append(p.events, event{kind: evEnd})
	return i + 1, nil
}

// scanBang handles "<!" inside a stanza: a CDATA section is accepted as
// character data; comments and declarations are restricted XML.
func (p *Parser) scanBang(i int) (int, error) {
	if err := p.need(i + 2); err != nil {
		return 0, err
	}
	switch p.data[i+2] {
	case '-':
		return 0, p.fail(RestrictedXML, i, "comment")
	case '[':
	default:
		return 0, p.fail(RestrictedXML, i, "DTD or markup declaration")
	}
	const open = "<![CDATA["
	for k := 3; k < len(open); k++ {
		if err := p.need(i + k); err != nil {
			return 0, err
		}
		if p.data[i+k] != open[k] {
			return 0, p.fail(NotWellFormed, i, "malformed CDATA section")
		}
	}
	start := i + len(open)
	i = start
	var fl uint8
	for {
		data := p.data
		for i < len(data) {
			if c := data[i]; class[c]&cTextStop != 0 && c != '<' && c != '&' {
				break
			}
			i++
		}
		if i >= len(data) {
			if err := p.more(); err != nil {
				return 0, err
			}
			continue
		}
		switch c := data[i]; {
		case c == ']':
			if err := p.need(i + 2); err != nil {
				return 0, err
			}
			if p.data[i+1] == ']' && p.data[i+2] == '>' {
				p.addText(start, i, fl|fCDATA)
				return i + 3, nil
			}
			i++
		case c == '\r':
			fl |= fDecode
			i++
		case c >= utf8.RuneSelf:
			n, err := p.char(i)
			if err != nil {
				return 0, err
			}
			i += n
		default:
			return 0, p.fail(NotWellFormed, i, "illegal character")
		}
	}
}

// addText records character data; text adjacent to text (a CDATA section
// next to plain text) becomes one node.
func (p *Parser) addText(a, b int, fl uint8) {
	if a == b {
		return
	}
	if n := len(p.events); n == 0 || p.events[n-1].kind != evText {
		p.addChild()
	}
	p.events = append(p.events, event{kind: evText, flags: fl, a: a, b: b})
}

// scanText scans character data from data[i] up to the next '<'.
func (p *Parser) scanText(i int) (int, error) {
	start := i
	var fl uint8
	for {
		data := p.data
		for i < len(data) && class[data[i]]&cTextStop == 0 {
			i++
		}
		if i >= len(data) {
			if err := p.more(); err != nil {
				return 0, err
			}
			continue
		}
		switch c := data[i]; {
		case c == '<':
			p.addText(start, i, fl)
			return i, nil
		case c == '&':
			n, err := p.scanRef(i)
			if err != nil {
				return 0, err
			}
			fl |= fDecode
			i = n
		case c == '\r':
			fl |= fDecode
			i++
		case c == ']':
			// "]]>" is not allowed in character data. The bytes looked
			// at exist: the element still has to be closed.
			if err := p.need(i + 1); err != nil {
				return 0, err
			}
			if p.data[i+1] == ']' {
				if err := p.need(i + 2); err != nil {
					return 0, err
				}
				if p.data[i+2] == '>' {
					return 0, p.fail(NotWellFormed, i, "']]>' in character data")
				}
			}
			i++
		case c >= utf8.RuneSelf:
			n, err := p.char(i)
			if err != nil {
				return 0, err
			}
			i += n
		default:
			return 0, p.fail(NotWellFormed, i, "illegal character")
		}
	}
}

// scanAttrValue scans an attribute value from data[i] to the closing
// quote q and returns the quote's offset.
func (p *Parser) scanAttrValue(i int, q byte) (int, uint8, error) {
	var fl uint8
	for {
		data := p.data
		for i < len(data) && class[data[i]]&cAttrStop == 0 {
			i++
		}
		if i >= len(data) {
			if err := p.more(); err != nil {
				return 0, 0, err
			}
			continue
		}
		switch c := data[i]; c {
		case q:
			return i, fl, nil
		case '"', '\'':
			i++
		case '&':
			n, err := p.scanRef(i)
			if err != nil {
				return 0, 0, err
			}
			fl |= fDecode
			i = n
		case '\t', '\n', '\r':
			fl |= fDecode
			i++
		case '<':
			return 0, 0, p.fail(NotWellFormed, i, "'<' in an attribute value")
		default:
			if c < utf8.RuneSelf {
				return 0, 0, p.fail(NotWellFormed, i, "illegal character")
			}
			n, err := p.char(i)
			if err != nil {
				return 0, 0, err
			}
			i += n
		}
	}
}

// scanRef checks the reference at data[i] == '&' and returns the offset
// after its ';'. Only the predefined entities and character references
// to legal characters pass.
func (p *Parser) scanRef(i int) (int, error) {
	for j := i + 1; ; j++ {
		if err := p.need(j); err != nil {
			return 0, err
		}
		c := p.data[j]
		if c == ';' {
			if _, cond, text := parseRef(p.data[i+1 : j]); cond != "" {
				return 0, p.fail(cond, i, text)
			}
			return j + 1, nil
		}
		if j-i > maxRefLen || c < utf8.RuneSelf && class[c]&cName == 0 && c != '#' {
			return 0, p.fail(NotWellFormed, i, "unterminated entity reference")
		}
	}
}

// char checks the non-ASCII character at data[i] and returns its length.
func (p *Parser) char(i int) (int, error) {
	r, n, err := p.rune(i)
	if err != nil {
		return 0, err
	}
	if !isXMLChar(r) {
		return 0, p.fail(NotWellFormed, i, "illegal character")
	}
	return n, nil
}

// rune decodes the UTF-8 sequence at data[i], reading its continuation
// bytes if they have not arrived yet.
func (p *Parser) rune(i int) (rune, int, error) {
	for !utf8.FullRune(p.data[i:]) {
		if err := p.more(); err != nil {
			return 0, 0, err
		}
	}
	r, n := utf8.DecodeRune(p.data[i:])
	if r == utf8.RuneError && n == 1 {
		return 0, 0, p.fail(NotWellFormed, i, "invalid UTF-8")
	}
	return r, n, nil
}

// skipWS returns the offset of the first non-space byte at or after i,
// which is then available in data.
func (p *Parser) skipWS(i int) (int, error) {
	for {
		data := p.data
		for i < len(data) && class[data[i]]&cSpace != 0 {
			i++
		}
		if i < len(data) {
			return i, nil
		}
		if err := p.more(); err != nil {
			return 0, err
		}
	}
}

// scanName scans a qualified name (an NCName, or NCName:NCName) at
// data[i] and returns its end and the offset of its colon (-1 if none).
func (p *Parser) scanName(i int) (end, colon int, err error) {
	start := i
	colon = -1
	max := start + p.lim.MaxNameLen
	for {
		data := p.data
		stop := min(len(data), max+1)
		for i < stop {
			c := data[i]
			if class[c]&cName == 0 {
				break
			}
			if c == ':' {
				if colon >= 0 {
					return 0, 0, p.fail(NotWellFormed, i, "more than one colon in a name")
				}
				colon = i
			}
			i++
		}
		if i > max {
			return 0, 0, p.fail(PolicyViolation, start, "name too long")
		}
		if i >= len(data) {
			if err := p.more(); err != nil {
				return 0, 0, err
			}
			continue
		}
		if data[i] < utf8.RuneSelf {
			break
		}
		r, n, err := p.rune(i)
		if err != nil {
			return 0, 0, err
		}
		if !isNameRune(r) {
			return 0, 0, p.fail(NotWellFormed, i, "illegal character in a name")
		}
		i += n
	}
	if i == start {
		return 0, 0, p.fail(NotWellFormed, i, "expected a name")
	}
	if !p.nameStarts(start) || colon >= 0 && (colon+1 == i || !p.nameStarts(colon+1)) {
		return 0, 0, p.fail(NotWellFormed, start, "malformed name "+string(p.data[start:i]))
	}
	return i, colon, nil
}

// nameStarts reports whether the (already scanned) name character at
// data[i] may start an NCName.
func (p *Parser) nameStarts(i int) bool {
	c := p.data[i]
	if c < utf8.RuneSelf {
		return class[c]&cNameStart != 0 && c != ':'
	}
	r, _ := utf8.DecodeRune(p.data[i:])
	return isNameStartRune(r)
}
