package roster

import (
	"bufio"
	"slices"
	"strconv"
	"strings"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Namespaces.
const (
	NS            = "jabber:iq:roster"
	NSVersioning  = "urn:xmpp:features:rosterver"    // XEP-0237 stream feature
	NSPreApproval = "urn:xmpp:features:pre-approval" // RFC 6121 section 3.4
)

// Limits on what a roster set may carry. RFC 6121 section 2.3.3 leaves them to the
// server; a name or group longer than this is <not-acceptable/>.
const (
	MaxNameLen  = 1023
	MaxGroupLen = 1023
	// maxRequestLen bounds a stored subscription request; a longer one (a huge
	// <status/>) is kept without its children.
	maxRequestLen = 8192
)

// itemElement renders an item as RFC 6121 section 2.1.2 shows it to its owner.
func itemElement(it store.RosterItem) *xmlstream.Element {
	el := xmlstream.NewElement(NS, "item",
		xmlstream.Attr{Local: "jid", Value: it.Contact},
		xmlstream.Attr{Local: "subscription", Value: it.Sub.String()})
	if it.Name != "" {
		el.SetAttr("name", it.Name)
	}
	if it.PendingOut {
		el.SetAttr("ask", "subscribe")
	}
	if it.Approved && !it.Sub.HasFrom() {
		el.SetAttr("approved", "true")
	}
	for _, g := range it.Groups {
		ge := xmlstream.NewElement(NS, "group")
		ge.AddText(g)
		el.AddChild(ge)
	}
	return el
}

func removedElement(contact string) *xmlstream.Element {
	return xmlstream.NewElement(NS, "item",
		xmlstream.Attr{Local: "jid", Value: contact},
		xmlstream.Attr{Local: "subscription", Value: "remove"})
}

func queryElement(ver string, versioning bool, items ...*xmlstream.Element) *xmlstream.Element {
	q := xmlstream.NewElement(NS, "query")
	if versioning {
		q.SetAttr("ver", ver)
	}
	for _, it := range items {
		q.AddChild(it)
	}
	return q
}

func versionString(v uint64) string { return strconv.FormatUint(v, 10) }

// sameView reports whether two items look the same to their owner.
func sameView(a, b store.RosterItem) bool {
	return a.Visible() == b.Visible() && a.Sub == b.Sub && a.PendingOut == b.PendingOut &&
		(a.Approved && !a.Sub.HasFrom()) == (b.Approved && !b.Sub.HasFrom()) &&
		a.Name == b.Name && slices.Equal(a.Groups, b.Groups)
}

// sameItem reports whether two items are equal but for their version.
func sameItem(a, b store.RosterItem) bool {
	return sameView(a, b) && a.Listed == b.Listed && a.PendingIn == b.PendingIn &&
		a.Approved == b.Approved && a.Request == b.Request && a.Contact == b.Contact
}

// setRequest is a validated roster set.
type setRequest struct {
	contact jid.JID
	remove  bool
	name    string
	groups  []string
}

// setError is a roster set refused, with the condition RFC 6121 names.
type setError struct {
	cond stanza.Condition
	text string
}

// parseSet validates the <query/> of a roster set from user (RFC 6121 sections 2.3.3,
// 2.4.3 and 2.5.3).
func parseSet(q *xmlstream.Element, user jid.JID) (setRequest, *setError) {
	items := q.ChildrenNamed(NS, "item")
	// Section 2.3.3: exactly one item (none is as malformed as two).
	if len(items) != 1 {
		return setRequest{}, &setError{stanza.BadRequest, "a roster set carries exactly one item"}
	}
	it := items[0]
	raw := it.Attr("jid")
	if raw == "" {
		return setRequest{}, &setError{stanza.BadRequest, "the item has no jid"}
	}
	contact, err := jid.Parse(raw)
	if err != nil {
		return setRequest{}, &setError{stanza.JIDMalformed, "invalid item jid"}
	}
	// The user's own JID is not a contact: the server already shares presence among
	// the user's resources (section 4.2.2). RFC 6121 defines no condition for it; it
	// is refused as a value the server does not accept, like the limits of 2.3.3.
	if contact.Bare() == user.Bare() {
		return setRequest{}, &setError{stanza.NotAcceptable, "the user's own JID cannot be a roster item"}
	}
	req := setRequest{contact: contact}
	if it.Attr("subscription") == "remove" {
		// Section 2.5: any other subscription value is ignored (2.1.2.5), as are
		// 'ask' and 'approved' (2.1.2.1, 2.1.2.2).
		req.remove = true
		return req, nil
	}
	req.name = it.Attr("name")
	if len(req.name) > MaxNameLen {
		return setRequest{}, &setError{stanza.NotAcceptable, "the name is too long"}
	}
	for _, g := range it.ChildrenNamed(NS, "group") {
		name := g.Text()
		switch {
		case name == "":
			return setRequest{}, &setError{stanza.NotAcceptable, "empty group name"}
		case len(name) > MaxGroupLen:
			return setRequest{}, &setError{stanza.NotAcceptable, "the group name is too long"}
		case slices.Contains(req.groups, name):
			return setRequest{}, &setError{stanza.BadRequest, "duplicate group"}
		}
		req.groups = append(req.groups, name)
	}
	return req, nil
}

// hasAttr reports whether el carries the unqualified attribute name, even empty
// (XEP-0237: ver="" asks for a versioned full roster).
func hasAttr(el *xmlstream.Element, name string) bool {
	for _, a := range el.Attrs {
		if a.Space == "" && a.Local == name {
			return true
		}
	}
	return false
}

// storedRequest is what is kept of an inbound subscription request for redelivery.
func storedRequest(el *xmlstream.Element, from, to jid.JID) string {
	c := el.Clone()
	c.SetAttr("from", from.String())
	c.SetAttr("to", to.String())
	if s := c.String(); len(s) <= maxRequestLen {
		return s
	}
	c.Children = nil
	return c.String()
}

// parseRequest reads a stored request back.
func parseRequest(s string) (*xmlstream.Element, error) {
	const open = `<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">`
	p := xmlstream.NewParser(bufio.NewReader(strings.NewReader(open+s)), xmlstream.Limits{})
	if _, err := p.ReadHeader(); err != nil {
		return nil, err
	}
	return p.Next()
}
