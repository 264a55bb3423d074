// Package stanza holds what every XMPP feature needs to read and answer stanzas:
// namespaces, stanza error conditions (RFC 6120 section 8.3) and reply builders over
// xmlstream elements.
package stanza

import (
	"strconv"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Namespaces used across features.
const (
	NSClient   = xmlstream.ClientNamespace
	NSStanzas  = "urn:ietf:params:xml:ns:xmpp-stanzas"
	NSPing     = "urn:xmpp:ping"
	NSDiscoInf = "http://jabber.org/protocol/disco#info"
	NSDiscoIt  = "http://jabber.org/protocol/disco#items"
	NSVersion  = "jabber:iq:version"
	NSTime     = "urn:xmpp:time"
	NSSession  = "urn:ietf:params:xml:ns:xmpp-session"
	NSBind     = "urn:ietf:params:xml:ns:xmpp-bind"
	NSDelay    = "urn:xmpp:delay"
)

// Error types (RFC 6120 section 8.3.2).
const (
	Auth     = "auth"
	Cancel   = "cancel"
	Continue = "continue"
	Modify   = "modify"
	Wait     = "wait"
)

// Condition is a defined stanza error condition with its usual type.
type Condition struct {
	Name string
	Type string
	// Code is the legacy numeric code MongooseIM still adds (e.g. 503).
	Code int
}

// The conditions of RFC 6120 section 8.3.3 with the types the RFC suggests.
var (
	BadRequest            = Condition{"bad-request", Modify, 400}
	Conflict              = Condition{"conflict", Cancel, 409}
	FeatureNotImplemented = Condition{"feature-not-implemented", Cancel, 501}
	Forbidden             = Condition{"forbidden", Auth, 403}
	Gone                  = Condition{"gone", Cancel, 302}
	InternalServerError   = Condition{"internal-server-error", Cancel, 500}
	ItemNotFound          = Condition{"item-not-found", Cancel, 404}
	JIDMalformed          = Condition{"jid-malformed", Modify, 400}
	NotAcceptable         = Condition{"not-acceptable", Modify, 406}
	NotAllowed            = Condition{"not-allowed", Cancel, 405}
	NotAuthorized         = Condition{"not-authorized", Auth, 401}
	PolicyViolation       = Condition{"policy-violation", Modify, 0}
	RecipientUnavailable  = Condition{"recipient-unavailable", Wait, 404}
	Redirect              = Condition{"redirect", Modify, 302}
	RegistrationRequired  = Condition{"registration-required", Auth, 407}
	RemoteServerNotFound  = Condition{"remote-server-not-found", Cancel, 404}
	RemoteServerTimeout   = Condition{"remote-server-timeout", Wait, 504}
	ResourceConstraint    = Condition{"resource-constraint", Wait, 500}
	ServiceUnavailable    = Condition{"service-unavailable", Cancel, 503}
	SubscriptionRequired  = Condition{"subscription-required", Auth, 407}
	UndefinedCondition    = Condition{"undefined-condition", Cancel, 500}
	UnexpectedRequest     = Condition{"unexpected-request", Wait, 400}
)

// IsError reports whether a stanza is an error, which must never be answered with
// another error (RFC 6120 section 8.3.1).
func IsError(el *xmlstream.Element) bool { return el.Attr("type") == "error" }

// NewError builds an <error/> element; text may be empty.
func NewError(c Condition, text string) *xmlstream.Element {
	e := xmlstream.NewElement(NSClient, "error", xmlstream.Attr{Local: "type", Value: c.Type})
	if c.Code != 0 {
		e.SetAttr("code", strconv.Itoa(c.Code))
	}
	e.AddChild(xmlstream.NewElement(NSStanzas, c.Name))
	if text != "" {
		t := xmlstream.NewElement(NSStanzas, "text", xmlstream.Attr{Space: xmlstream.XMLNamespace, Local: "lang", Value: "en"})
		t.AddText(text)
		e.AddChild(t)
	}
	return e
}

// ErrorReply turns a stanza into its error reply: from and to swapped, type="error",
// the original payload kept (RFC 6120 section 8.3.1 allows it and clients match on it)
// and the <error/> appended. The original is not modified.
func ErrorReply(orig *xmlstream.Element, c Condition, text string) *xmlstream.Element {
	r := orig.Clone()
	swapAddresses(r, orig)
	r.SetAttr("type", "error")
	r.AddChild(NewError(c, text))
	return r
}

// Result builds an IQ result for iq with optional payload.
func Result(iq *xmlstream.Element, payload *xmlstream.Element) *xmlstream.Element {
	r := xmlstream.NewElement(NSClient, "iq", xmlstream.Attr{Local: "type", Value: "result"})
	if id := iq.Attr("id"); id != "" {
		r.SetAttr("id", id)
	}
	swapAddresses(r, iq)
	if payload != nil {
		r.AddChild(payload)
	}
	return r
}

func swapAddresses(dst, orig *xmlstream.Element) {
	from, to := orig.Attr("from"), orig.Attr("to")
	dst.RemoveAttr("from")
	dst.RemoveAttr("to")
	if to != "" {
		dst.SetAttr("from", to)
	}
	if from != "" {
		dst.SetAttr("to", from)
	}
}
