package c2s

import (
	"errors"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Stream error conditions (RFC 6120 section 4.9.3) this package sends besides
// those the parser detects (xmlstream.NotWellFormed, RestrictedXML, ...).
const (
	Conflict              xmlstream.Condition = "conflict"
	ConnectionTimeout     xmlstream.Condition = "connection-timeout"
	HostUnknown           xmlstream.Condition = "host-unknown"
	InternalServerError   xmlstream.Condition = "internal-server-error"
	InvalidFrom           xmlstream.Condition = "invalid-from"
	NotAuthorized         xmlstream.Condition = "not-authorized"
	PolicyViolation       xmlstream.Condition = xmlstream.PolicyViolation
	ResourceConstraint    xmlstream.Condition = "resource-constraint"
	SystemShutdown        xmlstream.Condition = "system-shutdown"
	UnsupportedStanzaType xmlstream.Condition = "unsupported-stanza-type"
	UnsupportedVersion    xmlstream.Condition = "unsupported-version"
)

// streamError ends the stream with <stream:error/>.
type streamError struct {
	cond xmlstream.Condition
	text string
}

func (e *streamError) Error() string {
	if e.text == "" {
		return "c2s: stream error " + string(e.cond)
	}
	return "c2s: stream error " + string(e.cond) + ": " + e.text
}

func streamErr(cond xmlstream.Condition, text string) error { return &streamError{cond, text} }

var (
	// errRestart ends one stream after STARTTLS or SASL success; the client
	// opens a new one on the same connection.
	errRestart = errors.New("c2s: stream restart")
	// errClosing is returned once the connection is being closed (Stop,
	// a full output queue, a write error).
	errClosing = errors.New("c2s: connection closing")
	// errQuiet ends the connection without any further output, as after a
	// failed TLS handshake.
	errQuiet = errors.New("c2s: connection dropped")
)
