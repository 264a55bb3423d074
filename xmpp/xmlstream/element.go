package xmlstream

import "strings"

// Attr is an attribute with its namespace resolved. Space is "" for
// unprefixed attributes (the usual case: to, from, type, id) and
// XMLNamespace for xml:lang. Namespace declarations are never attributes:
// an element's namespaces are its Space and its attributes' Spaces.
type Attr struct {
	Space, Local, Value string
}

// Node is a child of an Element: *Element or CharData.
type Node interface{ isNode() }

// CharData is character data, with references already decoded.
type CharData string

func (CharData) isNode() {}

// Element is one XML element with its namespace resolved.
//
// Elements returned by a Parser share backing arrays with the rest of
// their stanza (that is what keeps parsing cheap); modify them through the
// methods, or Clone first if a copy must outlive changes to the original.
type Element struct {
	Space, Local string
	Attrs        []Attr
	Children     []Node
}

func (*Element) isNode() {}

// NewElement returns an element with a copy of attrs.
func NewElement(space, local string, attrs ...Attr) *Element {
	e := &Element{Space: space, Local: local}
	if len(attrs) > 0 {
		e.Attrs = append([]Attr(nil), attrs...)
	}
	return e
}

// Attr returns the value of the unqualified attribute local, or "".
func (e *Element) Attr(local string) string { return attrValue(e.Attrs, "", local) }

// AttrNS returns the value of attribute {space}local, or "".
func (e *Element) AttrNS(space, local string) string { return attrValue(e.Attrs, space, local) }

// Lang returns the element's own xml:lang, or "" (inheritance from the
// parent or the stream is the caller's business).
func (e *Element) Lang() string { return attrValue(e.Attrs, XMLNamespace, "lang") }

func attrValue(attrs []Attr, space, local string) string {
	for i := range attrs {
		if attrs[i].Local == local && attrs[i].Space == space {
			return attrs[i].Value
		}
	}
	return ""
}

// SetAttr sets the unqualified attribute local, adding it if missing.
func (e *Element) SetAttr(local, value string) { e.SetAttrNS("", local, value) }

// SetAttrNS sets attribute {space}local, adding it if missing.
func (e *Element) SetAttrNS(space, local, value string) {
	for i := range e.Attrs {
		if e.Attrs[i].Local == local && e.Attrs[i].Space == space {
			e.Attrs[i].Value = value
			return
		}
	}
	e.Attrs = append(e.Attrs, Attr{Space: space, Local: local, Value: value})
}

// RemoveAttr removes the unqualified attribute local if present.
func (e *Element) RemoveAttr(local string) { e.RemoveAttrNS("", local) }

// RemoveAttrNS removes attribute {space}local if present.
func (e *Element) RemoveAttrNS(space, local string) {
	for i := range e.Attrs {
		if e.Attrs[i].Local == local && e.Attrs[i].Space == space {
			// A fresh slice: the old backing array may be shared with a
			// clone or with the parser's slab.
			attrs := make([]Attr, 0, len(e.Attrs)-1)
			attrs = append(attrs, e.Attrs[:i]...)
			e.Attrs = append(attrs, e.Attrs[i+1:]...)
			return
		}
	}
}

// Child returns the first child element named {space}local, or nil. The
// namespace must match exactly: a <body/> in a jabber:client stream is
// Child(ClientNamespace, "body").
func (e *Element) Child(space, local string) *Element {
	for _, n := range e.Children {
		if c, ok := n.(*Element); ok && c.Local == local && c.Space == space {
			return c
		}
	}
	return nil
}

// ChildrenNamed returns the child elements named {space}local.
func (e *Element) ChildrenNamed(space, local string) []*Element {
	var out []*Element
	for _, n := range e.Children {
		if c, ok := n.(*Element); ok && c.Local == local && c.Space == space {
			out = append(out, c)
		}
	}
	return out
}

// Elements returns the child elements, skipping character data.
func (e *Element) Elements() []*Element {
	var out []*Element
	for _, n := range e.Children {
		if c, ok := n.(*Element); ok {
			out = append(out, c)
		}
	}
	return out
}

// Text returns the concatenated character data directly inside e.
func (e *Element) Text() string {
	var only CharData
	n := 0
	for _, c := range e.Children {
		if t, ok := c.(CharData); ok {
			only = t
			n++
		}
	}
	if n <= 1 {
		return string(only) // the common case: no copy
	}
	var b strings.Builder
	for _, c := range e.Children {
		if t, ok := c.(CharData); ok {
			b.WriteString(string(t))
		}
	}
	return b.String()
}

// AddChild appends a child node (an *Element or CharData); nil is ignored.
func (e *Element) AddChild(n Node) {
	if n == nil {
		return
	}
	if c, ok := n.(*Element); ok && c == nil {
		return
	}
	e.Children = append(e.Children, n)
}

// AddText appends character data.
func (e *Element) AddText(s string) {
	if s != "" {
		e.Children = append(e.Children, CharData(s))
	}
}

// SetText replaces all children with the character data s.
func (e *Element) SetText(s string) {
	e.Children = nil
	e.AddText(s)
}

// Clone returns a deep copy of e that shares nothing mutable with it.
func (e *Element) Clone() *Element {
	if e == nil {
		return nil
	}
	c := &Element{Space: e.Space, Local: e.Local}
	if len(e.Attrs) > 0 {
		c.Attrs = append([]Attr(nil), e.Attrs...)
	}
	if len(e.Children) > 0 {
		c.Children = make([]Node, len(e.Children))
		for i, n := range e.Children {
			if ce, ok := n.(*Element); ok {
				n = ce.Clone()
			}
			c.Children[i] = n
		}
	}
	return c
}
