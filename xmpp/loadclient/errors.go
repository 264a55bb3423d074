package loadclient

import (
	"errors"
	"fmt"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

var (
	// ErrAuth means the server refused the credentials (SASL <failure/>);
	// the error text names the SASL condition.
	ErrAuth = errors.New("authentication failed")
	// ErrNotOffered means the server did not offer something the
	// configuration requires (STARTTLS, the mechanism, resource binding).
	ErrNotOffered = errors.New("not offered by the server")
	// ErrProtocol means the server answered something a login does not
	// expect at that step.
	ErrProtocol = errors.New("unexpected answer from the server")
	// ErrClosed is returned by sends after Close.
	ErrClosed = errors.New("loadclient: client closed")
)

// StreamError is a <stream:error/> from the server.
type StreamError struct {
	Condition string // "host-unknown", "conflict", ...
	Text      string
}

func (e *StreamError) Error() string {
	if e.Text != "" {
		return fmt.Sprintf("stream error %s: %s", e.Condition, e.Text)
	}
	return "stream error " + e.Condition
}

func streamError(el *xmlstream.Element) *StreamError {
	e := &StreamError{Condition: "undefined-condition"}
	for _, c := range el.Elements() {
		if c.Space != xmlstream.StreamErrorsNamespace {
			continue
		}
		if c.Local == "text" {
			e.Text = c.Text()
		} else {
			e.Condition = c.Local
		}
	}
	return e
}

// condition returns the name of the first child element of el (a SASL
// <failure/> or a stanza <error/>), or "undefined-condition".
func condition(el *xmlstream.Element) string {
	for _, c := range el.Elements() {
		if c.Local != "text" {
			return c.Local
		}
	}
	return "undefined-condition"
}

// ErrorCondition returns the defined condition of an error stanza (the
// element inside its <error/>, such as "service-unavailable"), or "" when el
// is not of type error.
func ErrorCondition(el *xmlstream.Element) string {
	if el.Attr("type") != "error" {
		return ""
	}
	e := el.Child(xmlstream.ClientNamespace, "error")
	if e == nil {
		return "undefined-condition"
	}
	return condition(e)
}
