package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// domainProfile applies the UTS #46 mapping (case folding, NFC, width
// mapping), the modern equivalent of the stringprep nameprep MongooseIM
// applies to hosts. It keeps the Unicode form, as MongooseIM stores it, and
// does not enforce STD3 host-name rules or DNS lengths: like nameprep it lets
// "my_host" through. NormalizeDomain adds the checks a JID needs.
var domainProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
	idna.VerifyDNSLength(false),
)

// maxDomainBytes mirrors MongooseIM's jid:nameprep limit (< 1024 bytes).
const maxDomainBytes = 1023

var errEmptyDomain = errors.New("empty domain name")

// NormalizeDomain returns the canonical (lowercased, mapped) form of an XMPP
// domain, or an error when it is not a valid domain name.
func NormalizeDomain(s string) (string, error) {
	if s == "" {
		return "", errEmptyDomain
	}
	if len(s) > maxDomainBytes {
		return "", fmt.Errorf("domain name longer than %d bytes", maxDomainBytes)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("invalid domain name %q: not UTF-8", s)
	}
	out, err := domainProfile.ToUnicode(s)
	if err != nil {
		return "", fmt.Errorf("invalid domain name %q: %w", s, err)
	}
	if out == "" {
		return "", errEmptyDomain
	}
	// Spaces, controls and the characters that delimit a JID or break XML
	// can never be part of a domain that clients address.
	if i := strings.IndexFunc(out, func(r rune) bool {
		return r <= ' ' || r == 0x7f || strings.ContainsRune(`@/"&'<>\`, r)
	}); i >= 0 {
		return "", fmt.Errorf("invalid domain name %q: character %q not allowed", s, []rune(out[i:])[0])
	}
	if slices.Contains(strings.Split(out, "."), "") {
		return "", fmt.Errorf("invalid domain name %q: empty label", s)
	}
	if len(out) > maxDomainBytes {
		return "", fmt.Errorf("domain name longer than %d bytes", maxDomainBytes)
	}
	return out, nil
}
