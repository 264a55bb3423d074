package xmlstream

import "unicode/utf8"

// Byte classes for the ASCII fast paths. One table lookup per byte keeps
// the scanning loops free of function calls; bytes >= 0x80 always take the
// slow path, which decodes and checks a whole rune.
const (
	cNameStart uint8 = 1 << iota // may start a Name (letters, '_', ':')
	cName                        // may continue a Name
	cSpace                       // XML S: space, tab, LF, CR
	cTextStop                    // ends the fast path in character data
	cAttrStop                    // ends the fast path in an attribute value
)

var class [256]uint8

func init() {
	for c := 0; c < 256; c++ {
		var k uint8
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == ':':
			k = cNameStart | cName
		case c >= '0' && c <= '9', c == '-', c == '.':
			k = cName
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			k |= cSpace
		}
		// Control characters are illegal in XML (except tab, LF, CR);
		// non-ASCII needs UTF-8 validation.
		if c < 0x20 && c != '\t' && c != '\n' || c >= 0x80 {
			k |= cTextStop | cAttrStop
		}
		switch c {
		case '<', '&', '\r', ']':
			k |= cTextStop
		}
		switch c {
		case '<', '&', '\r', '\n', '\t', '"', '\'':
			k |= cAttrStop
		}
		class[c] = k
	}
}

// isXMLChar reports whether r is allowed by the Char production of XML 1.0.
func isXMLChar(r rune) bool {
	switch {
	case r < 0x20:
		return r == '\t' || r == '\n' || r == '\r'
	case r <= 0xD7FF:
		return true
	case r < 0xE000:
		return false // surrogates
	case r <= 0xFFFD:
		return true
	default:
		return r >= 0x10000 && r <= 0x10FFFF
	}
}

// isNameStartRune and isNameRune implement NameStartChar and NameChar of
// XML 1.0 fifth edition for runes >= 0x80 (ASCII goes through class).
func isNameStartRune(r rune) bool {
	switch {
	case r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0x2FF,
		r >= 0x370 && r <= 0x37D, r >= 0x37F && r <= 0x1FFF, r >= 0x200C && r <= 0x200D,
		r >= 0x2070 && r <= 0x218F, r >= 0x2C00 && r <= 0x2FEF, r >= 0x3001 && r <= 0xD7FF,
		r >= 0xF900 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFFD, r >= 0x10000 && r <= 0xEFFFF:
		return true
	}
	return false
}

func isNameRune(r rune) bool {
	return isNameStartRune(r) || r == 0xB7 || r >= 0x300 && r <= 0x36F || r >= 0x203F && r <= 0x2040
}

// maxRefLen bounds a reference between '&' and ';' ("#x10FFFF" plus
// leading zeros is generous); anything longer is rejected without reading
// further, so a stream of digits cannot be buffered as one reference.
const maxRefLen = 32

// parseRef interprets a reference body (the bytes between '&' and ';').
// It returns the character it stands for, or a condition and detail.
func parseRef(b []byte) (rune, Condition, string) {
	if len(b) == 0 {
		return 0, NotWellFormed, "empty entity reference"
	}
	if b[0] == '#' {
		return parseCharRef(b[1:])
	}
	switch string(b) {
	case "amp":
		return '&', "", ""
	case "lt":
		return '<', "", ""
	case "gt":
		return '>', "", ""
	case "quot":
		return '"', "", ""
	case "apos":
		return '\'', "", ""
	}
	if !isNameBytes(b) {
		return 0, NotWellFormed, "malformed entity reference"
	}
	return 0, RestrictedXML, "entity reference &" + string(b) + "; is not one of the predefined entities"
}

func parseCharRef(b []byte) (rune, Condition, string) {
	base := int32(10)
	if len(b) > 0 && b[0] == 'x' {
		base = 16
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, NotWellFormed, "empty character reference"
	}
	var n int32
	for _, c := range b {
		var d int32
		switch {
		case c >= '0' && c <= '9':
			d = int32(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = int32(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = int32(c-'A') + 10
		default:
			return 0, NotWellFormed, "malformed character reference"
		}
		n = n*base + d
		if n > utf8.MaxRune {
			return 0, NotWellFormed, "character reference out of range"
		}
	}
	if !isXMLChar(n) {
		return 0, NotWellFormed, "character reference to an illegal character"
	}
	return n, "", ""
}

// isNameBytes reports whether b is an XML Name.
func isNameBytes(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if class[c]&cName == 0 || i == 0 && class[c]&cNameStart == 0 {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 || i == 0 && !isNameStartRune(r) || !isNameRune(r) {
			return false
		}
		i += size
	}
	return len(b) > 0
}
