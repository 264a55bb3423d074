package moduletest

import (
	"strings"

	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

const nsRoster = "jabber:iq:roster"

// Summary renders a stanza in one line for test assertions:
//
//	presence/subscribe alice@a.com>bob@a.com
//	presence/available alice@a.com/r1>bob@a.com [status] [prio]
//	push bob@a.com to ask=subscribe approved name=Bob groups=A,B ver=3
//	push bob@a.com remove
//	iq/result, iq/error/item-not-found
//	message/chat alice@a.com/r1>bob@a.com body
//	error presence/bad-request
func Summary(el *xmlstream.Element) string {
	var b strings.Builder
	typ := el.Attr("type")
	switch {
	case el.Local == "iq" && typ == "set" && el.Child(nsRoster, "query") != nil:
		q := el.Child(nsRoster, "query")
		b.WriteString("push")
		for _, it := range q.ChildrenNamed(nsRoster, "item") {
			b.WriteString(" " + it.Attr("jid") + " " + it.Attr("subscription"))
			if a := it.Attr("ask"); a != "" {
				b.WriteString(" ask=" + a)
			}
			if it.Attr("approved") == "true" {
				b.WriteString(" approved")
			}
			if n := it.Attr("name"); n != "" {
				b.WriteString(" name=" + n)
			}
			var gs []string
			for _, g := range it.ChildrenNamed(nsRoster, "group") {
				gs = append(gs, g.Text())
			}
			if len(gs) > 0 {
				b.WriteString(" groups=" + strings.Join(gs, ","))
			}
		}
		if v := q.Attr("ver"); v != "" {
			b.WriteString(" ver=" + v)
		}
		return b.String()
	case typ == "error":
		b.WriteString("error " + el.Local)
		if e := el.Child(stanza.NSClient, "error"); e != nil {
			for _, c := range e.Elements() {
				if c.Space == stanza.NSStanzas && c.Local != "text" {
					b.WriteString("/" + c.Local)
				}
			}
		}
		return b.String()
	case el.Local == "iq":
		return "iq/" + typ
	}
	if typ == "" {
		typ = map[string]string{"presence": "available", "message": "normal"}[el.Local]
	}
	b.WriteString(el.Local + "/" + typ + " " + el.Attr("from") + ">" + el.Attr("to"))
	if s := el.Child(stanza.NSClient, "status"); s != nil {
		b.WriteString(" [" + s.Text() + "]")
	}
	if p := el.Child(stanza.NSClient, "priority"); p != nil {
		b.WriteString(" [" + p.Text() + "]")
	}
	if body := el.Child(stanza.NSClient, "body"); body != nil {
		b.WriteString(" " + body.Text())
	}
	return b.String()
}

// Summaries applies Summary to each stanza.
func Summaries(els []*xmlstream.Element) []string {
	out := make([]string, len(els))
	for i, el := range els {
		out[i] = Summary(el)
	}
	return out
}

// TakeSummaries is Summaries(s.Take()).
func (s *Session) TakeSummaries() []string { return Summaries(s.Take()) }
