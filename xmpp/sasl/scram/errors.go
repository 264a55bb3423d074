package scram

import (
	"errors"

	"github.com/mongoose-go/mongoose-go/xmpp/sasl"
)

// The SASL failure conditions this package reports, re-exported from package
// sasl so that callers can match them with errors.Is either way and map them
// to a <failure/> element with sasl.Condition.
var (
	ErrNotAuthorized        = sasl.ErrNotAuthorized
	ErrMalformedRequest     = sasl.ErrMalformedRequest
	ErrIncorrectEncoding    = sasl.ErrIncorrectEncoding
	ErrInvalidAuthzid       = sasl.ErrInvalidAuthzid
	ErrInvalidMechanism     = sasl.ErrInvalidMechanism
	ErrTemporaryAuthFailure = sasl.ErrTemporaryAuthFailure
)

// ErrUnknownUser is what a Lookup function returns (possibly wrapped) for a
// user that does not exist. The Server then carries on with made-up
// credentials and fails only at the end with ErrNotAuthorized, so that a
// client cannot tell unknown users from wrong passwords (RFC 5802 section
// 5.1). Any other Lookup error fails the exchange at once with
// ErrTemporaryAuthFailure.
var ErrUnknownUser = errors.New("scram: unknown user")

// DecodePayload is sasl.DecodePayload: it decodes the base64 character data
// of an <auth/> or <response/> element into what Server.Step takes. Bad
// base64 wraps ErrIncorrectEncoding.
func DecodePayload(s string) ([]byte, error) { return sasl.DecodePayload(s) }

// EncodePayload is sasl.EncodePayload: it encodes what Server.Step returns
// for a <challenge/> or <success/> element.
func EncodePayload(b []byte) string { return sasl.EncodePayload(b) }
