package jid

import (
	"errors"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	// The first block is RFC 7622 section 3.5's list of valid JIDs.
	tests := []struct {
		in                 string
		local, domain, res string
		str                string // canonical form; "" means same as in
	}{
		{in: "juliet@example.com", local: "juliet", domain: "example.com"},
		{in: "juliet@example.com/foo", local: "juliet", domain: "example.com", res: "foo"},
		{in: "juliet@example.com/foo bar", local: "juliet", domain: "example.com", res: "foo bar"},
		{in: "juliet@example.com/foo@bar", local: "juliet", domain: "example.com", res: "foo@bar"},
		{in: `foo\20bar@example.com`, local: `foo\20bar`, domain: "example.com"},
		{in: "fussball@example.com", local: "fussball", domain: "example.com"},
		{in: "fußball@example.com", local: "fußball", domain: "example.com"},
		{in: "π@example.com", local: "π", domain: "example.com"},
		{in: "Σ@example.com/foo", local: "σ", domain: "example.com", res: "foo", str: "σ@example.com/foo"},
		{in: "σ@example.com/foo", local: "σ", domain: "example.com", res: "foo"},
		{in: "ς@example.com/foo", local: "ς", domain: "example.com", res: "foo"},
		{in: "king@example.com/♚", local: "king", domain: "example.com", res: "♚"},
		{in: "example.com", domain: "example.com"},
		{in: "example.com/foobar", domain: "example.com", res: "foobar"},
		{in: "a.example.com/b@example.net", domain: "a.example.com", res: "b@example.net"},

		// RFC 7622 lists "juliet@example.com/ foo" as invalid, but no rule
		// of OpaqueString forbids a leading space; we accept it, as
		// mellium/xmpp does, rather than drop traffic other servers route.
		{in: "juliet@example.com/ foo", local: "juliet", domain: "example.com", res: " foo"},

		// Splitting: resource starts at the first '/', may hold '/' and '@'.
		{in: "a@b/c/d@e", local: "a", domain: "b", res: "c/d@e"},
		{in: "a@b//", local: "a", domain: "b", res: "/"},
		// Case, width and trailing dot.
		{in: "Juliet@Example.COM/Balcony", local: "juliet", domain: "example.com", res: "Balcony", str: "juliet@example.com/Balcony"},
		{in: "ＪＵＬＩＥＴ@example.com", local: "juliet", domain: "example.com", str: "juliet@example.com"},
		{in: "juliet@example.com./r", local: "juliet", domain: "example.com", res: "r", str: "juliet@example.com/r"},
		{in: "juliet@example。com", local: "juliet", domain: "example.com", str: "juliet@example.com"},
		{in: "BÜCHER.example", domain: "bücher.example", str: "bücher.example"},
		{in: "u@xn--bcher-kva.example", local: "u", domain: "bücher.example", str: "u@bücher.example"},
		// Resource: non-ASCII spaces map to U+0020, NFC, case preserved.
		{in: "a@b/x\u00a0Y", local: "a", domain: "b", res: "x Y", str: "a@b/x Y"},
		{in: "a@b/e\u0301", local: "a", domain: "b", res: "é", str: "a@b/é"},
		// IP literals.
		{in: "a@192.0.2.1", local: "a", domain: "192.0.2.1"},
		{in: "a@[2001:DB8:0::1]/r", local: "a", domain: "[2001:db8::1]", res: "r", str: "a@[2001:db8::1]/r"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			j, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if j.Local() != tc.local || j.Domain() != tc.domain || j.Resource() != tc.res {
				t.Errorf("Parse(%q) = (%q, %q, %q), want (%q, %q, %q)",
					tc.in, j.Local(), j.Domain(), j.Resource(), tc.local, tc.domain, tc.res)
			}
			want := tc.str
			if want == "" {
				want = tc.in
			}
			if got := j.String(); got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			// Preparation is idempotent: reparsing the canonical form gives
			// the same value.
			if j2, err := Parse(j.String()); err != nil || j2 != j {
				t.Errorf("reparse %q = %v, %v; want %v", j.String(), j2, err, j)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		// RFC 7622 section 3.5's list of invalid JIDs (minus the leading
		// space case, see TestParseValid).
		{`"juliet"@example.com`, ErrInvalidLocal},
		{"foo bar@example.com", ErrInvalidLocal},
		{"@example.com/", ErrInvalidLocal},
		{"henryⅣ@example.com", ErrInvalidLocal},
		{"♚@example.com", ErrInvalidLocal},
		{"juliet@", ErrInvalidDomain},
		{"/foobar", ErrInvalidDomain},

		{"", ErrInvalidDomain},
		{"@example.com", ErrInvalidLocal},
		{"example.com/", ErrInvalidResource},
		{"a@b@c", ErrInvalidDomain},
		{"a:b@example.com", ErrInvalidLocal},
		{"a<b@example.com", ErrInvalidLocal},
		{"a&b@example.com", ErrInvalidLocal},
		{"a'b@example.com", ErrInvalidLocal},
		{"a\x00b@example.com", ErrInvalidLocal},
		{"a\xffb@example.com", ErrInvalidLocal},
		{"a@example.com/\x07", ErrInvalidResource},
		{"a@example.com/\xff", ErrInvalidResource},
		{"a@exa mple.com", ErrInvalidDomain},
		// Maps to "՚א", which the bidi rule refuses: not a domain
		// anyone could address in its prepared form (found by FuzzParse).
		{"a@՚ℵ", ErrInvalidDomain},
		{"a@exa_mple.com", ErrInvalidDomain},
		{"a@.", ErrInvalidDomain},
		{"a@example..com", ErrInvalidDomain},
		{"a@.example.com", ErrInvalidDomain},
		{"a@example.com..", ErrInvalidDomain},
		{"a@-example.com", ErrInvalidDomain},
		{"a@example-.com", ErrInvalidDomain},
		{"a@ex--ample.com", ErrInvalidDomain},
		{"a@xn--abc", ErrInvalidDomain},
		{"a@[::1", ErrInvalidDomain},
		{"a@[192.0.2.1]", ErrInvalidDomain},
		{"a@[fe80::1%eth0]", ErrInvalidDomain},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			j, err := Parse(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse(%q) = %v, %v; want error %v", tc.in, j, err, tc.want)
			}
			if !j.IsZero() {
				t.Errorf("Parse(%q) returned non-zero JID %v with error", tc.in, j)
			}
		})
	}
}

func TestLengthLimits(t *testing.T) {
	max := strings.Repeat("a", MaxPartLen)
	over := max + "a"
	label := strings.Repeat("a", 63)
	// 16 labels of 63 bytes plus 15 dots = 1023 bytes.
	maxDomain := strings.Repeat(label+".", 15) + label
	if len(maxDomain) != MaxPartLen {
		t.Fatalf("test setup: domain is %d bytes", len(maxDomain))
	}
	if _, err := New(max, maxDomain, max); err != nil {
		t.Errorf("New with %d-byte parts: %v", MaxPartLen, err)
	}
	if _, err := New(over, "example.com", ""); !errors.Is(err, ErrInvalidLocal) {
		t.Errorf("1024-byte localpart: %v, want ErrInvalidLocal", err)
	}
	if _, err := New("", maxDomain+"a", ""); !errors.Is(err, ErrInvalidDomain) {
		t.Errorf("1024-byte domainpart: %v, want ErrInvalidDomain", err)
	}
	if _, err := New("", "example.com", over); !errors.Is(err, ErrInvalidResource) {
		t.Errorf("1024-byte resourcepart: %v, want ErrInvalidResource", err)
	}
	// A trailing dot is stripped, but the input limit applies to the input.
	if _, err := New("", maxDomain+".", ""); !errors.Is(err, ErrInvalidDomain) {
		t.Errorf("1024-byte domain input with trailing dot: %v, want ErrInvalidDomain", err)
	}
	// Multi-byte characters count in bytes: 342 × "é" (2 bytes) = 684 bytes is
	// fine, 512 × "é" = 1024 bytes is not.
	if _, err := New(strings.Repeat("é", 342), "example.com", strings.Repeat("é", 342)); err != nil {
		t.Errorf("684-byte non-ASCII parts: %v", err)
	}
	if _, err := New(strings.Repeat("é", 512), "example.com", ""); !errors.Is(err, ErrInvalidLocal) {
		t.Errorf("1024-byte non-ASCII localpart: %v, want ErrInvalidLocal", err)
	}
	if _, err := New("", "example.com", strings.Repeat("é", 512)); !errors.Is(err, ErrInvalidResource) {
		t.Errorf("1024-byte non-ASCII resourcepart: %v, want ErrInvalidResource", err)
	}
}

func TestNew(t *testing.T) {
	j, err := New("Romeo", "Example.NET", "orchard")
	if err != nil {
		t.Fatal(err)
	}
	if j != MustParse("romeo@example.net/orchard") {
		t.Errorf("New = %v", j)
	}
	if _, err := New("romeo", "", ""); !errors.Is(err, ErrInvalidDomain) {
		t.Errorf("New with empty domain: %v", err)
	}
	if _, err := New("ro@meo", "example.net", ""); !errors.Is(err, ErrInvalidLocal) {
		t.Errorf("New with '@' in localpart: %v", err)
	}
	// New takes parts, so '/' and '@' are legal in the resource.
	if j, err := New("", "example.net", "a/b@c"); err != nil || j.Resource() != "a/b@c" {
		t.Errorf("New resource a/b@c = %v, %v", j, err)
	}
}

func TestMethods(t *testing.T) {
	full := MustParse("juliet@example.com/balcony")
	bare := full.Bare()
	if bare.String() != "juliet@example.com" || !bare.IsBare() || full.IsBare() {
		t.Errorf("Bare() = %q, IsBare %v/%v", bare, bare.IsBare(), full.IsBare())
	}
	if bare.Equal(full) || !full.Equal(MustParse("JULIET@example.com/balcony")) {
		t.Error("Equal does not follow preparation")
	}
	if full.IsZero() || !(JID{}).IsZero() {
		t.Error("IsZero wrong")
	}
	if (JID{}).String() != "" {
		t.Errorf("zero String() = %q", JID{}.String())
	}

	r, err := bare.WithResource("Chamber")
	if err != nil || r.String() != "juliet@example.com/Chamber" {
		t.Errorf("WithResource = %v, %v", r, err)
	}
	if b, err := full.WithResource(""); err != nil || b != bare {
		t.Errorf("WithResource(\"\") = %v, %v; want bare", b, err)
	}
	if _, err := full.WithResource("\x00"); !errors.Is(err, ErrInvalidResource) {
		t.Errorf("WithResource(NUL) = %v", err)
	}
	if full.Resource() != "balcony" {
		t.Error("WithResource mutated its receiver")
	}

	// Comparable: usable as a map key, keyed on the prepared value.
	m := map[JID]int{MustParse("a@b/c"): 1}
	if m[MustParse("A@B/c")] != 1 {
		t.Error("map lookup by equivalent JID failed")
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse did not panic on invalid input")
		}
	}()
	MustParse("@")
}

func TestText(t *testing.T) {
	j := MustParse("a@b/c")
	b, err := j.MarshalText()
	if err != nil || string(b) != "a@b/c" {
		t.Fatalf("MarshalText = %q, %v", b, err)
	}
	var k JID
	if err := k.UnmarshalText([]byte("A@B/c")); err != nil || k != j {
		t.Errorf("UnmarshalText = %v, %v", k, err)
	}
	if err := k.UnmarshalText(nil); err != nil || !k.IsZero() {
		t.Errorf("UnmarshalText(empty) = %v, %v", k, err)
	}
	if err := k.UnmarshalText([]byte("@x")); !errors.Is(err, ErrInvalidLocal) {
		t.Errorf("UnmarshalText(invalid) = %v", err)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, in := range []string{
		"juliet@example.com/balcony",
		"Juliet@Example.COM/Balcony",
		"fußball@bücher.example/♚",
	} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
