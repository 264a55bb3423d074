package xmlstream

import (
	"errors"
	"strings"
	"testing"
)

// errorCase is input that must fail with cond. Unless header is set, in
// is sent after testHeader.
type errorCase struct {
	name   string
	in     string
	cond   Condition
	header bool
	lim    Limits
}

var errorCases = []errorCase{
	// RFC 6120 section 11.1: restricted XML.
	{name: "comment between stanzas", in: "<!-- hi -->", cond: RestrictedXML},
	{name: "comment in stanza", in: "<message><!-- hi --></message>", cond: RestrictedXML},
	{name: "PI between stanzas", in: "<?target data?>", cond: RestrictedXML},
	{name: "PI in stanza", in: "<message><?target?></message>", cond: RestrictedXML},
	{name: "XML declaration mid-stream", in: "<?xml version='1.0'?><message/>", cond: RestrictedXML},
	{name: "XML declaration in stanza", in: "<message><?xml version='1.0'?></message>", cond: RestrictedXML},
	{name: "DOCTYPE between stanzas", in: "<!DOCTYPE message>", cond: RestrictedXML},
	{name: "ENTITY declaration in stanza", in: "<message><!ENTITY a 'b'></message>", cond: RestrictedXML},
	{name: "undeclared entity in text", in: "<message>&lol;</message>", cond: RestrictedXML},
	{name: "undeclared entity in attribute", in: "<message id='&lol;'/>", cond: RestrictedXML},
	{name: "DOCTYPE before header", header: true, in: "<!DOCTYPE stream [<!ENTITY a 'b'>]><stream:stream/>", cond: RestrictedXML},
	{name: "comment before header", header: true, in: "<!-- x --><stream:stream/>", cond: RestrictedXML},
	{name: "PI before header", header: true, in: "<?php ?><stream:stream/>", cond: RestrictedXML},
	{name: "PI named like the declaration", header: true, in: "<?xml-stylesheet href='a'?><stream:stream/>", cond: RestrictedXML},
	{name: "declaration after whitespace", header: true, in: " <?xml version='1.0'?><stream:stream/>", cond: RestrictedXML},

	// XML 1.0 well-formedness.
	{name: "mismatched end tag", in: "<message></presence>", cond: NotWellFormed},
	{name: "mismatched prefix", in: "<a xmlns:p='u' xmlns:q='u'><p:b></q:b></a>", cond: NotWellFormed},
	{name: "wrong stream close", in: "</stream:streamx>", cond: NotWellFormed},
	{name: "stray end tag name", in: "</message>", cond: NotWellFormed},
	{name: "unquoted attribute", in: "<message id=1/>", cond: NotWellFormed},
	{name: "attribute without value", in: "<message id/>", cond: NotWellFormed},
	{name: "no space between attributes", in: "<message id='1'to='a'/>", cond: NotWellFormed},
	{name: "duplicate attribute", in: "<message id='1' id='2'/>", cond: NotWellFormed},
	{name: "duplicate expanded attribute", in: "<message xmlns:p='u' xmlns:q='u' p:a='1' q:a='2'/>", cond: NotWellFormed},
	{name: "duplicate namespace declaration", in: "<message xmlns:p='u' xmlns:p='v'/>", cond: NotWellFormed},
	{name: "duplicate default namespace", in: "<message xmlns='u' xmlns='v'/>", cond: NotWellFormed},
	{name: "lt in attribute", in: "<message id='<'/>", cond: NotWellFormed},
	{name: "cdata end in text", in: "<body>a]]>b</body>", cond: NotWellFormed},
	{name: "slash without gt", in: "<message/ >", cond: NotWellFormed},
	{name: "name starts with digit", in: "<1message/>", cond: NotWellFormed},
	{name: "name starts with dash", in: "<message -a='1'/>", cond: NotWellFormed},
	{name: "empty name", in: "< message/>", cond: NotWellFormed},
	{name: "two colons", in: "<a:b:c xmlns:a='u'/>", cond: NotWellFormed},
	{name: "empty prefix", in: "<:a/>", cond: NotWellFormed},
	{name: "empty local name", in: "<a: xmlns:a='u'/>", cond: NotWellFormed},
	{name: "local name starts with digit", in: "<a:1 xmlns:a='u'/>", cond: NotWellFormed},
	{name: "illegal name character", in: "<mess\u00D7age/>", cond: NotWellFormed},
	{name: "malformed CDATA", in: "<body><![CDAT[x]]></body>", cond: NotWellFormed},
	{name: "malformed end tag", in: "<body></body x>", cond: NotWellFormed},

	// Characters and references.
	{name: "invalid UTF-8 in text", in: "<body>\xff</body>", cond: NotWellFormed},
	{name: "truncated UTF-8 in text", in: "<body>\xe2\x82</body>", cond: NotWellFormed},
	{name: "overlong UTF-8", in: "<body>\xc0\xbc</body>", cond: NotWellFormed},
	{name: "UTF-8 surrogate", in: "<body>\xed\xa0\x80</body>", cond: NotWellFormed},
	{name: "invalid UTF-8 in attribute", in: "<body a='\xfe'/>", cond: NotWellFormed},
	{name: "invalid UTF-8 in name", in: "<bo\xffdy/>", cond: NotWellFormed},
	{name: "invalid UTF-8 in CDATA", in: "<body><![CDATA[\xff]]></body>", cond: NotWellFormed},
	{name: "U+FFFE in text", in: "<body>\uFFFE</body>", cond: NotWellFormed},
	{name: "NUL in text", in: "<body>\x00</body>", cond: NotWellFormed},
	{name: "control in text", in: "<body>\x01</body>", cond: NotWellFormed},
	{name: "control in attribute", in: "<body a='\x1f'/>", cond: NotWellFormed},
	{name: "control in CDATA", in: "<body><![CDATA[\x0b]]></body>", cond: NotWellFormed},
	{name: "char ref to NUL", in: "<body>&#0;</body>", cond: NotWellFormed},
	{name: "hex char ref to NUL", in: "<body>&#x0;</body>", cond: NotWellFormed},
	{name: "char ref to control", in: "<body a='&#x1B;'/>", cond: NotWellFormed},
	{name: "char ref to surrogate", in: "<body>&#xD800;</body>", cond: NotWellFormed},
	{name: "char ref to low surrogate", in: "<body>&#57343;</body>", cond: NotWellFormed},
	{name: "char ref to U+FFFE", in: "<body>&#xFFFE;</body>", cond: NotWellFormed},
	{name: "char ref to U+FFFF", in: "<body>&#xffff;</body>", cond: NotWellFormed},
	{name: "char ref beyond Unicode", in: "<body>&#x110000;</body>", cond: NotWellFormed},
	{name: "huge char ref", in: "<body>&#99999999999999999999;</body>", cond: NotWellFormed},
	{name: "empty char ref", in: "<body>&#;</body>", cond: NotWellFormed},
	{name: "empty hex char ref", in: "<body>&#x;</body>", cond: NotWellFormed},
	{name: "hex digit in decimal ref", in: "<body>&#1a;</body>", cond: NotWellFormed},
	{name: "uppercase X in char ref", in: "<body>&#X41;</body>", cond: NotWellFormed},
	{name: "empty entity", in: "<body>&;</body>", cond: NotWellFormed},
	{name: "unterminated entity", in: "<body>&amp </body>", cond: NotWellFormed},
	{name: "bare ampersand", in: "<body>a & b</body>", cond: NotWellFormed},
	{name: "overlong reference", in: "<body>&#" + strings.Repeat("0", 40) + "65;</body>", cond: NotWellFormed},

	// Namespaces in XML 1.0.
	{name: "undeclared element prefix", in: "<foo:message/>", cond: NotWellFormed},
	{name: "undeclared attribute prefix", in: "<message foo:id='1'/>", cond: NotWellFormed},
	{name: "prefix out of scope", in: "<message><a xmlns:p='u'/><p:b/></message>", cond: NotWellFormed},
	{name: "prefix undeclared with empty value", in: "<message xmlns:p=''/>", cond: NotWellFormed},
	{name: "xmlns prefix declared", in: "<message xmlns:xmlns='u'/>", cond: NotWellFormed},
	{name: "xml prefix rebound", in: "<message xmlns:xml='u'/>", cond: NotWellFormed},
	{name: "xml namespace on other prefix", in: "<message xmlns:p='http://www.w3.org/XML/1998/namespace'/>", cond: NotWellFormed},
	{name: "xml namespace as default", in: "<message xmlns='http://www.w3.org/XML/1998/namespace'/>", cond: NotWellFormed},
	{name: "xmlns namespace bound", in: "<message xmlns:p='http://www.w3.org/2000/xmlns/'/>", cond: NotWellFormed},
	{name: "element with xmlns prefix", in: "<xmlns:message/>", cond: NotWellFormed},
	{name: "undeclared stream prefix in header", header: true, in: "<stream:stream xmlns='jabber:client'>", cond: NotWellFormed},

	// Stream level.
	{name: "text between stanzas", in: "hello<message/>", cond: BadFormat},
	{name: "CDATA between stanzas", in: "<![CDATA[x]]>", cond: BadFormat},
	{name: "header inside the stream", in: "<stream:stream>", cond: BadFormat},
	{name: "self-closing header", header: true, in: "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>", cond: BadFormat},
	{name: "wrong stream element", header: true, in: "<stream:open xmlns:stream='http://etherx.jabber.org/streams'>", cond: BadFormat},
	{name: "wrong stream namespace", header: true, in: "<stream:stream xmlns:stream='http://etherx.jabber.org/streams/'>", cond: InvalidNamespace},
	{name: "unprefixed stream in content namespace", header: true, in: "<stream xmlns='jabber:client'>", cond: InvalidNamespace},
	{name: "text before header", header: true, in: "hello<stream:stream/>", cond: NotWellFormed},
	{name: "end tag before header", header: true, in: "</stream:stream>", cond: NotWellFormed},
	{name: "XML declaration without version", header: true, in: "<?xml encoding='UTF-8'?><stream:stream/>", cond: NotWellFormed},
	{name: "XML declaration unknown field", header: true, in: "<?xml version='1.0' foo='bar'?><stream:stream/>", cond: NotWellFormed},
	{name: "XML declaration wrong version", header: true, in: "<?xml version='2.0'?><stream:stream/>", cond: NotWellFormed},
	{name: "XML declaration bad standalone", header: true, in: "<?xml version='1.0' standalone='maybe'?><stream:stream/>", cond: NotWellFormed},
	{name: "XML declaration out of order", header: true, in: "<?xml version='1.0' standalone='yes' encoding='UTF-8'?><stream:stream/>", cond: NotWellFormed},
	{name: "XML declaration unterminated", header: true, in: "<?xml version='1.0'><stream:stream/>", cond: NotWellFormed},
	{name: "latin-1 declared", header: true, in: "<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream/>", cond: UnsupportedEncoding},
	{name: "UTF-16 declared", header: true, in: "<?xml version='1.0' encoding='UTF-16'?><stream:stream/>", cond: UnsupportedEncoding},

	// Limits.
	{name: "too many attributes", in: "<m a='1' b='2' c='3'/>", cond: PolicyViolation, lim: Limits{MaxAttrs: 2}},
	{name: "too many namespace declarations", in: "<m xmlns:a='1' xmlns:b='2' xmlns:c='3'/>", cond: PolicyViolation, lim: Limits{MaxAttrs: 2}},
	{name: "too deep", in: "<a><b><c/></b></a>", cond: PolicyViolation, lim: Limits{MaxDepth: 2}},
	{name: "long element name", in: "<" + strings.Repeat("a", 17) + "/>", cond: PolicyViolation, lim: Limits{MaxNameLen: 16}},
	{name: "long attribute name", in: "<a " + strings.Repeat("a", 17) + "='1'/>", cond: PolicyViolation, lim: Limits{MaxNameLen: 16}},
	{name: "long non-ASCII name", in: "<" + strings.Repeat("é", 9) + "/>", cond: PolicyViolation, lim: Limits{MaxNameLen: 16}},
	{name: "long end tag name", in: "<a></" + strings.Repeat("a", 17) + ">", cond: PolicyViolation, lim: Limits{MaxNameLen: 16}},
	{name: "stanza too big", in: "<message><body>" + strings.Repeat("x", 100) + "</body></message>", cond: PolicyViolation, lim: Limits{MaxStanzaSize: 64}},
	{name: "attribute value too big", in: "<message id='" + strings.Repeat("x", 100) + "'/>", cond: PolicyViolation, lim: Limits{MaxStanzaSize: 64}},
	{name: "stanza one byte too big", in: "<message>" + strings.Repeat("x", 46) + "</message>", cond: PolicyViolation, lim: Limits{MaxStanzaSize: 64}},
	{name: "header too big", header: true, in: testHeader, cond: PolicyViolation, lim: Limits{MaxStanzaSize: 64}},
}

func TestErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			switch {
			case tc.header:
			case tc.lim != Limits{}:
				in = shortHeader + in // fits the limits under test
			default:
				in = testHeader + in
			}
			for name, mk := range readers(in) {
				r, size := mk()
				res := parseWith(r, size, tc.lim)
				if !errors.Is(res.Err, &StreamError{Condition: tc.cond}) {
					t.Fatalf("%s: err = %v, want %s", name, res.Err, tc.cond)
				}
				if !tc.header && res.Header == nil {
					t.Fatalf("%s: the header failed: %v", name, res.Err)
				}
				if len(res.Elements) != 0 {
					t.Fatalf("%s: got elements before the error: %s", name, dump(res.Elements[0]))
				}
			}
		})
	}
}

// The limits are inclusive: a stanza exactly at each limit passes.
func TestAtLimits(t *testing.T) {
	stanza := "<message>" + strings.Repeat("x", 45) + "</message>" // 64 bytes
	tests := []struct {
		name, in string
		lim      Limits
	}{
		{"size", stanza + "<a/>", Limits{MaxStanzaSize: len(stanza)}},
		{"attrs", "<m a='1' b='2'/>", Limits{MaxAttrs: 2}},
		{"depth", "<a><b/></a>", Limits{MaxDepth: 2}},
		{"name", "<" + strings.Repeat("a", 16) + "/>", Limits{MaxNameLen: 16}},
		{"prefixed name", "<aa:bbbbbbbbbbbbb xmlns:aa='u'/>", Limits{MaxNameLen: 16}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := parseString(shortHeader+tt.in+"</stream:stream>", tt.lim)
			if !errors.Is(res.Err, ErrStreamClosed) {
				t.Fatalf("err = %v", res.Err)
			}
		})
	}
}
