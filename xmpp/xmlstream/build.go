package xmlstream

import "unicode/utf8"

// Pass 2: turn the events of a complete unit into elements, resolving
// namespaces. All names and values are substrings of one string copy of
// the unit (or interned constants), so a stanza costs a handful of
// allocations however many names and attributes it has: the string, one
// slab each of elements, attributes and child nodes, and a box per text
// node. Only values with references or whitespace to normalise are copied.

// Namespace names used by the parser and writer.
const (
	XMLNamespace          = "http://www.w3.org/XML/1998/namespace"
	StreamsNamespace      = "http://etherx.jabber.org/streams"
	StreamErrorsNamespace = "urn:ietf:params:xml:ns:xmpp-streams"
	ClientNamespace       = "jabber:client"
	ServerNamespace       = "jabber:server"
	xmlnsNamespace        = "http://www.w3.org/2000/xmlns/"
)

type binding struct{ prefix, uri string }

// build makes the element tree of the stanza data[:end] from p.events.
func (p *Parser) build(end int) (*Element, error) {
	data := p.data[:end]
	s := string(data)
	elems := make([]Element, p.nElems)
	var attrs []Attr
	if p.nAttrs > 0 {
		attrs = make([]Attr, p.nAttrs)
	}
	var nodes []Node
	if p.nNodes > 0 {
		nodes = make([]Node, p.nNodes)
	}
	ne, na, nn := 0, 0, 0
	stack, marks := p.stack[:0], p.marks[:0]
	evs := p.events
	for k := 0; k < len(evs); k++ {
		ev := &evs[k]
		switch ev.kind {
		case evStart:
			el := &elems[ne]
			mark := len(p.bind)
			var err error
			el.Space, el.Local, el.Attrs, err = p.resolveStart(s, data, k, attrs[na:na:na+ev.n])
			if err != nil {
				return nil, err
			}
			if len(el.Attrs) == 0 {
				el.Attrs = nil
			} else {
				// Capacity == length: an append by the caller copies
				// instead of writing into a neighbour's slots.
				el.Attrs = el.Attrs[:len(el.Attrs):len(el.Attrs)]
			}
			na += ev.n
			if ev.kids > 0 {
				el.Children = nodes[nn : nn : nn+ev.kids]
				nn += ev.kids
			}
			if len(stack) > 0 {
				parent := &elems[stack[len(stack)-1]]
				parent.Children = append(parent.Children, el)
			}
			if ev.flags&fSelfClose != 0 {
				p.bind = p.bind[:mark]
			} else {
				stack = append(stack, ne)
				marks = append(marks, mark)
			}
			ne++
			k += ev.n
		case evEnd:
			top := len(stack) - 1
			p.bind = p.bind[:marks[top]]
			stack, marks = stack[:top], marks[:top]
		case evText:
			parent := &elems[stack[len(stack)-1]]
			t := CharData(p.text(s, data, ev))
			if k > 0 && evs[k-1].kind == evText {
				last := len(parent.Children) - 1
				parent.Children[last] = parent.Children[last].(CharData) + t
			} else {
				parent.Children = append(parent.Children, t)
			}
		}
	}
	p.stack, p.marks = stack[:0], marks[:0]
	return &elems[0], nil
}

// resolveStart processes the start event evs[k] and its attributes: it
// pushes the element's namespace declarations onto p.bind, resolves the
// element's name, and appends its other attributes to dst.
func (p *Parser) resolveStart(s string, data []byte, k int, dst []Attr) (space, local string, _ []Attr, err error) {
	ev := &p.events[k]
	attrs := p.events[k+1 : k+1+ev.n]
	mark := len(p.bind)
	ndecl := 0
	for j := range attrs {
		a := &attrs[j]
		var prefix string
		if a.colon < 0 {
			if string(data[a.a:a.b]) != "xmlns" {
				continue
			}
		} else {
			if string(data[a.a:a.colon]) != "xmlns" {
				continue
			}
			prefix = p.name(s, data, a.colon+1, a.b)
		}
		a.flags |= fDecl
		ndecl++
		uri := p.uri(s, data, a)
		switch {
		case prefix == "xmlns":
			return "", "", nil, p.fail(NotWellFormed, a.a, "the xmlns prefix cannot be declared")
		case prefix == "xml" && uri != XMLNamespace:
			return "", "", nil, p.fail(NotWellFormed, a.a, "the xml prefix cannot be rebound")
		case prefix != "xml" && (uri == XMLNamespace || uri == xmlnsNamespace):
			return "", "", nil, p.fail(NotWellFormed, a.a, "reserved namespace bound to another prefix")
		case prefix != "" && uri == "":
			return "", "", nil, p.fail(NotWellFormed, a.a, "prefix "+prefix+" declared with an empty namespace")
		}
		for _, b := range p.bind[mark:] {
			if b.prefix == prefix {
				return "", "", nil, p.fail(NotWellFormed, a.a, "duplicate namespace declaration")
			}
		}
		if prefix != "xml" {
			p.bind = append(p.bind, binding{prefix, uri})
		}
	}
	if space, local, err = p.resolveName(s, data, ev, true); err != nil {
		return "", "", nil, err
	}
	if ndecl == len(attrs) {
		return space, local, dst, nil
	}
	for j := range attrs {
		a := &attrs[j]
		if a.flags&fDecl != 0 {
			continue
		}
		as, al, err := p.resolveName(s, data, a, false)
		if err != nil {
			return "", "", nil, err
		}
		for _, prev := range dst {
			if prev.Local == al && prev.Space == as {
				return "", "", nil, p.fail(NotWellFormed, a.a, "duplicate attribute "+string(data[a.a:a.b]))
			}
		}
		dst = append(dst, Attr{Space: as, Local: al, Value: p.value(s, data, a)})
	}
	return space, local, dst, nil
}

// fDecl marks an evAttr that is a namespace declaration (set in pass 2).
const fDecl uint8 = 1 << 7

// resolveName resolves the name of a start or attribute event.
// Unprefixed attributes are in no namespace; unprefixed elements are in
// the default namespace.
func (p *Parser) resolveName(s string, data []byte, ev *event, elem bool) (string, string, error) {
	if ev.colon < 0 {
		local := p.name(s, data, ev.a, ev.b)
		if !elem {
			return "", local, nil
		}
		space, _ := p.lookup(nil)
		return space, local, nil
	}
	prefix := data[ev.a:ev.colon]
	if elem && string(prefix) == "xmlns" {
		return "", "", p.fail(NotWellFormed, ev.a, "element with the xmlns prefix")
	}
	space, ok := p.lookup(prefix)
	if !ok {
		return "", "", p.fail(NotWellFormed, ev.a, "undeclared namespace prefix "+string(prefix))
	}
	return space, p.name(s, data, ev.colon+1, ev.b), nil
}

// lookup returns the namespace bound to prefix (nil: the default
// namespace, "" if none is declared).
func (p *Parser) lookup(prefix []byte) (string, bool) {
	if string(prefix) == "xml" {
		return XMLNamespace, true
	}
	for j := len(p.bind) - 1; j >= 0; j-- {
		if p.bind[j].prefix == string(prefix) {
			return p.bind[j].uri, true
		}
	}
	return "", len(prefix) == 0
}

// name returns data[a:b] as a string without allocating: an interned
// constant for common names, else a substring of s.
func (p *Parser) name(s string, data []byte, a, b int) string {
	if v, ok := lookupIntern(data[a:b]); ok {
		return v
	}
	return s[a:b]
}

func (p *Parser) uri(s string, data []byte, a *event) string {
	if a.flags&fDecode != 0 {
		return p.decode(data[a.c:a.d], modeAttr)
	}
	return p.name(s, data, a.c, a.d)
}

func (p *Parser) value(s string, data []byte, a *event) string {
	if a.flags&fDecode != 0 {
		return p.decode(data[a.c:a.d], modeAttr)
	}
	return s[a.c:a.d]
}

func (p *Parser) text(s string, data []byte, ev *event) string {
	switch {
	case ev.flags&fCDATA != 0 && ev.flags&fDecode != 0:
		return p.decode(data[ev.a:ev.b], modeCDATA)
	case ev.flags&fDecode != 0:
		return p.decode(data[ev.a:ev.b], modeText)
	}
	return s[ev.a:ev.b]
}

const (
	modeText  = iota // references, CR LF -> LF
	modeAttr         // references, CR LF / CR / LF / TAB -> space
	modeCDATA        // CR LF -> LF only
)

// decode applies reference substitution and line-end (and, in attribute
// values, whitespace) normalisation. raw was validated by pass 1.
func (p *Parser) decode(raw []byte, mode int) string {
	buf := p.scratch[:0]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '&' && mode != modeCDATA:
			j := i + 1
			for j < len(raw) && raw[j] != ';' {
				j++
			}
			r, _, _ := parseRef(raw[i+1 : min(j, len(raw))])
			buf = utf8.AppendRune(buf, r)
			i = j
		case c == '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			if mode == modeAttr {
				c = ' '
			} else {
				c = '\n'
			}
			buf = append(buf, c)
		case (c == '\n' || c == '\t') && mode == modeAttr:
			buf = append(buf, ' ')
		default:
			buf = append(buf, c)
		}
	}
	p.scratch = buf
	return string(buf)
}
