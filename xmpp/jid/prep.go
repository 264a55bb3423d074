package jid

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
)

// NormalizeDomain prepares a domain name the way a JID domainpart is prepared
// and is what the admin API uses to validate domain names. Like MongooseIM's
// jid:nameprep it rejects "", input of 1024 bytes or more, invalid UTF-8 and
// names whose prepared form is 1024 bytes or more; beyond that the name must
// be a DNS host name after IDNA mapping (labels of letters, digits and
// hyphens, U-labels allowed) or a bracketed IPv6 literal. The result is the
// lowercase Unicode form without a trailing dot. Errors wrap ErrInvalidDomain.
func NormalizeDomain(s string) (string, error) { return prepDomain(s) }

// NormalizeLocal prepares a username (a JID localpart) with the PRECIS
// UsernameCaseMapped profile (RFC 8265) and the extra exclusions of RFC 7622
// section 3.3.1. Errors wrap ErrInvalidLocal.
func NormalizeLocal(s string) (string, error) { return prepLocal(s) }

// NormalizeResource prepares a resourcepart with the PRECIS OpaqueString
// profile. Errors wrap ErrInvalidResource.
func NormalizeResource(s string) (string, error) { return prepResource(s) }

func prepLocal(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidLocal)
	}
	if len(s) > MaxPartLen {
		return "", fmt.Errorf("%w: %d bytes, longer than %d", ErrInvalidLocal, len(s), MaxPartLen)
	}
	if asciiLocal(s) {
		// For printable ASCII, UsernameCaseMapped is exactly ASCII
		// lowercasing; skipping precis saves its transformer allocations on
		// the hot path (every stanza's to/from).
		return lowerASCII(s), nil
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: invalid UTF-8", ErrInvalidLocal)
	}
	p, err := precis.UsernameCaseMapped.String(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrInvalidLocal, s, err)
	}
	if p == "" {
		return "", fmt.Errorf("%w: empty after preparation", ErrInvalidLocal)
	}
	if i := strings.IndexAny(p, localExcluded); i >= 0 {
		return "", fmt.Errorf("%w: character %q not allowed", ErrInvalidLocal, p[i])
	}
	if len(p) > MaxPartLen {
		return "", fmt.Errorf("%w: %d bytes after preparation, longer than %d", ErrInvalidLocal, len(p), MaxPartLen)
	}
	return p, nil
}

// localExcluded are the characters RFC 7622 section 3.3.1 forbids in a
// localpart although the IdentifierClass allows them.
const localExcluded = "\"&'/:<>@"

// asciiLocal reports whether s is printable ASCII without the excluded
// characters, i.e. valid for UsernameCaseMapped without any mapping but case.
func asciiLocal(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e {
			return false
		}
		switch c {
		case '"', '&', '\'', '/', ':', '<', '>', '@':
			return false
		}
	}
	return true
}

func prepResource(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidResource)
	}
	if len(s) > MaxPartLen {
		return "", fmt.Errorf("%w: %d bytes, longer than %d", ErrInvalidResource, len(s), MaxPartLen)
	}
	if asciiFreeform(s) {
		// OpaqueString leaves printable ASCII (space included) unchanged.
		return s, nil
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: invalid UTF-8", ErrInvalidResource)
	}
	p, err := precis.OpaqueString.String(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrInvalidResource, s, err)
	}
	if len(p) > MaxPartLen {
		return "", fmt.Errorf("%w: %d bytes after preparation, longer than %d", ErrInvalidResource, len(p), MaxPartLen)
	}
	return p, nil
}

func asciiFreeform(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func prepDomain(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidDomain)
	}
	if len(s) > MaxPartLen {
		return "", fmt.Errorf("%w: %d bytes, longer than %d", ErrInvalidDomain, len(s), MaxPartLen)
	}
	if s[0] == '[' {
		return prepIPv6(s)
	}
	if d, ok := asciiHostname(s); ok {
		return d, nil
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: invalid UTF-8", ErrInvalidDomain)
	}
	// The Lookup profile applies the UTS 46 mapping (case folding, width and
	// NFC, which subsumes nameprep for valid names), decodes A-labels and
	// enforces STD3 rules, so spaces, '@', '/', '_' etc. are rejected.
	d, err := idna.Lookup.ToUnicode(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrInvalidDomain, s, err)
	}
	// Stripped only after mapping: ideographic and full-width full stops map
	// to '.' (RFC 7622 section 3.2.1).
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		return "", fmt.Errorf("%w: %q has no labels", ErrInvalidDomain, s)
	}
	// idna.Lookup accepts empty labels ("a..b", ".a"); a host name cannot.
	if d[0] == '.' || strings.Contains(d, "..") || strings.HasSuffix(d, ".") {
		return "", fmt.Errorf("%w: %q has an empty label", ErrInvalidDomain, s)
	}
	if len(d) > MaxPartLen {
		return "", fmt.Errorf("%w: %d bytes after preparation, longer than %d", ErrInvalidDomain, len(d), MaxPartLen)
	}
	// The mapping can produce a name the profile itself refuses: U+2135 ALEF
	// SYMBOL maps to the Hebrew letter alef, which then breaks the bidi rule
	// beside a left-to-right label character. The prepared form is what every
	// comparison and every later parse sees, so it must be valid on its own.
	if again, err := idna.Lookup.ToUnicode(d); err != nil || again != d {
		return "", fmt.Errorf("%w: %q prepares to %q, which is not a valid domain", ErrInvalidDomain, s, d)
	}
	return d, nil
}

// asciiHostname is the fast path for the common case: an ASCII LDH host name
// whose labels IDNA would not touch except for lowercasing. Anything unusual
// (A-labels, hyphens in positions 3-4 or at the ends, empty labels, other
// characters) returns ok=false and goes through the full IDNA processing,
// which either accepts or rejects it authoritatively.
func asciiHostname(s string) (string, bool) {
	t := strings.TrimSuffix(s, ".")
	if t == "" {
		return "", false
	}
	start := 0
	for i := 0; i <= len(t); i++ {
		if i < len(t) && t[i] != '.' {
			c := t[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return "", false
			}
			continue
		}
		l := t[start:i]
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' || len(l) >= 4 && l[2] == '-' && l[3] == '-' {
			return "", false
		}
		start = i + 1
	}
	return lowerASCII(t), true
}

// prepIPv6 accepts an IP-literal (RFC 3986) holding an IPv6 address and
// returns it in canonical form so that equal addresses compare equal.
func prepIPv6(s string) (string, error) {
	if len(s) < 2 || s[len(s)-1] != ']' {
		return "", fmt.Errorf("%w: %q: unterminated IP literal", ErrInvalidDomain, s)
	}
	a, err := netip.ParseAddr(s[1 : len(s)-1])
	if err != nil || !a.Is6() || a.Zone() != "" {
		return "", fmt.Errorf("%w: %q is not an IPv6 literal", ErrInvalidDomain, s)
	}
	return "[" + a.String() + "]", nil
}

// lowerASCII lowercases ASCII letters, returning s itself (no allocation) when
// it is already lowercase.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + ('a' - 'A')
				}
			}
			return string(b)
		}
	}
	return s
}
