// Package scram implements SCRAM (RFC 5802, RFC 7677) for the server:
// deriving and storing credentials for SHA-1, SHA-224, SHA-256, SHA-384 and
// SHA-512 in MongooseIM's serialisation, checking a cleartext password
// against them (PLAIN, HTTP Basic auth), and the server side of the SCRAM
// and SCRAM-PLUS exchanges.
//
// Passwords are prepared with the PRECIS OpaqueString profile (RFC 8265),
// the successor of SASLprep; usernames are XMPP localparts prepared with
// UsernameCaseMapped (package jid). Key derivation uses crypto/pbkdf2.
//
// The package does no I/O: the stream layer base64-decodes each SASL payload
// (DecodePayload), passes it to Server.Step, encodes the reply, and maps an
// error to a <failure/> condition with sasl.Condition.
package scram
