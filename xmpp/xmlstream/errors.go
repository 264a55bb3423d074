package xmlstream

import (
	"errors"
	"fmt"
	"strconv"
)

// Condition is the name of an RFC 6120 section 4.9.3 stream error condition,
// the element a server puts inside <stream:error/> when it gives up on a
// stream. Only the conditions this package can detect are defined here.
type Condition string

// Stream error conditions produced by the parser.
const (
	// BadFormat: XML that is well-formed but cannot be processed, for
	// example character data between stanzas or a stream header opened
	// a second time without a restart.
	BadFormat Condition = "bad-format"
	// InvalidNamespace: the stream element is not in the
	// http://etherx.jabber.org/streams namespace.
	InvalidNamespace Condition = "invalid-namespace"
	// NotWellFormed: the input violates XML 1.0 or Namespaces in XML 1.0
	// (including invalid UTF-8, illegal characters and undeclared prefixes).
	NotWellFormed Condition = "not-well-formed"
	// PolicyViolation: a configured limit (stanza size, depth, attribute
	// count, name length) was exceeded.
	PolicyViolation Condition = "policy-violation"
	// RestrictedXML: a construct RFC 6120 section 11.1 forbids: comments,
	// processing instructions, DTDs, entity references other than the five
	// predefined ones.
	RestrictedXML Condition = "restricted-xml"
	// UnsupportedEncoding: the XML declaration names an encoding other
	// than UTF-8 (RFC 6120 section 11.6).
	UnsupportedEncoding Condition = "unsupported-encoding"
)

// StreamError is returned for input that must end the stream with a
// <stream:error/>. Match the condition with errors.Is against the sentinels
// (ErrNotWellFormed, ...) or read it with errors.As.
type StreamError struct {
	Condition Condition
	// Text is a human-readable detail for logs. It describes the peer's
	// input, so it is fine to send as the <text/> of the stream error.
	Text string
	// Offset is the byte offset in the stream (since NewParser or Reset)
	// at which the problem was detected; -1 if unknown.
	Offset int64
}

func (e *StreamError) Error() string {
	s := "xmlstream: " + string(e.Condition)
	if e.Text != "" {
		s += ": " + e.Text
	}
	if e.Offset >= 0 {
		s += " (at byte " + strconv.FormatInt(e.Offset, 10) + ")"
	}
	return s
}

// Is reports whether target is a StreamError sentinel with the same
// condition, so errors.Is(err, ErrPolicyViolation) works for any detail.
func (e *StreamError) Is(target error) bool {
	t, ok := target.(*StreamError)
	return ok && t.Text == "" && t.Condition == e.Condition
}

// Sentinels for errors.Is. Their Text is empty; errors the parser returns
// carry a detail and an offset but match the sentinel of their condition.
var (
	ErrBadFormat           = &StreamError{Condition: BadFormat, Offset: -1}
	ErrInvalidNamespace    = &StreamError{Condition: InvalidNamespace, Offset: -1}
	ErrNotWellFormed       = &StreamError{Condition: NotWellFormed, Offset: -1}
	ErrPolicyViolation     = &StreamError{Condition: PolicyViolation, Offset: -1}
	ErrRestrictedXML       = &StreamError{Condition: RestrictedXML, Offset: -1}
	ErrUnsupportedEncoding = &StreamError{Condition: UnsupportedEncoding, Offset: -1}
)

// ErrStreamClosed is returned by Next when the peer closed the stream with
// </stream:stream>. It is not a stream error: answer with </stream:stream>.
var ErrStreamClosed = errors.New("xmlstream: stream closed by peer")

// ConditionOf returns the stream error condition carried by err, or "" if
// err is not (or does not wrap) a *StreamError.
func ConditionOf(err error) Condition {
	var se *StreamError
	if errors.As(err, &se) {
		return se.Condition
	}
	return ""
}

// readError wraps a network error from the underlying reader.
func readError(err error) error {
	return fmt.Errorf("xmlstream: read: %w", err)
}
