// Package sasl holds what every SASL mechanism of the server shares: the
// failure conditions of RFC 6120 section 6.5 as sentinel errors, and the
// base64 framing of XMPP's <auth/>, <challenge/> and <response/> payloads.
// The mechanisms live in subpackages (scram).
package sasl

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Failure conditions (RFC 6120 section 6.5). Mechanisms wrap these so that
// the stream layer can pick the <failure/> child with Condition while logs
// keep the detail.
var (
	ErrAborted              = errors.New("sasl: aborted")
	ErrAccountDisabled      = errors.New("sasl: account disabled")
	ErrCredentialsExpired   = errors.New("sasl: credentials expired")
	ErrEncryptionRequired   = errors.New("sasl: encryption required")
	ErrIncorrectEncoding    = errors.New("sasl: incorrect encoding")
	ErrInvalidAuthzid       = errors.New("sasl: invalid authzid")
	ErrInvalidMechanism     = errors.New("sasl: invalid mechanism")
	ErrMalformedRequest     = errors.New("sasl: malformed request")
	ErrMechanismTooWeak     = errors.New("sasl: mechanism too weak")
	ErrNotAuthorized        = errors.New("sasl: not authorized")
	ErrTemporaryAuthFailure = errors.New("sasl: temporary auth failure")
)

var conditions = []struct {
	err  error
	name string
}{
	{ErrAborted, "aborted"},
	{ErrAccountDisabled, "account-disabled"},
	{ErrCredentialsExpired, "credentials-expired"},
	{ErrEncryptionRequired, "encryption-required"},
	{ErrIncorrectEncoding, "incorrect-encoding"},
	{ErrInvalidAuthzid, "invalid-authzid"},
	{ErrInvalidMechanism, "invalid-mechanism"},
	{ErrMalformedRequest, "malformed-request"},
	{ErrMechanismTooWeak, "mechanism-too-weak"},
	{ErrNotAuthorized, "not-authorized"},
	{ErrTemporaryAuthFailure, "temporary-auth-failure"},
}

// Condition returns the name of the RFC 6120 <failure/> child element for
// err, e.g. "not-authorized". Errors that wrap none of the sentinels map to
// "temporary-auth-failure": an unexpected error is the server's fault, and the
// client may retry. A nil error returns "".
func Condition(err error) string {
	if err == nil {
		return ""
	}
	for _, c := range conditions {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "temporary-auth-failure"
}

// DecodePayload decodes the character data of an <auth/> or <response/>
// element. Per RFC 6120 section 6.4.2 a single "=" stands for an empty
// response and no data at all means "no initial response" (nil, as opposed
// to an empty non-nil slice). Whitespace is not allowed in base64 payloads,
// but some clients wrap lines, so it is skipped (RFC 4648 section 3.3 leaves
// this to the application).
func DecodePayload(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	switch s {
	case "":
		return nil, nil
	case "=":
		return []byte{}, nil
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIncorrectEncoding, err)
	}
	return b, nil
}

// EncodePayload encodes data for a <challenge/> or <success/> element: "="
// for empty data (RFC 6120 section 6.4.2), otherwise standard base64.
func EncodePayload(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}
