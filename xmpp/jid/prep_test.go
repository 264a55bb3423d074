package jid

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
)

func TestNormalizeDomain(t *testing.T) {
	pctF3, err := url.PathUnescape("%f3")
	if err != nil {
		t.Fatal(err)
	}
	valid := []struct{ in, want string }{
		{"example.org", "example.org"},
		{"Example.ORG", "example.org"},
		{"example.org.", "example.org"},
		{"BÜCHER.example", "bücher.example"},
		{"xn--bcher-kva.example", "bücher.example"},
		{"ｅｘａｍｐｌｅ.org", "example.org"}, // full-width letters (NFKC via UTS 46)
		{"faß.de", "faß.de"},           // IDNA2008, not transitional
		{"localhost", "localhost"},
		{"a-b.c0", "a-b.c0"},
		{"192.0.2.1", "192.0.2.1"},
		{"[::1]", "[::1]"},
		{strings.Repeat("a", 1023), strings.Repeat("a", 1023)},
	}
	for _, tc := range valid {
		got, err := NormalizeDomain(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	invalid := []string{
		"",
		strings.Repeat("a", 1024),
		strings.Repeat("a", 1023) + ".", // input limit counts the dot
		"ex ample.org",
		"a@b",
		"foo/bar",
		pctF3,
		"exa" + pctF3 + "mple.org",
		"under_score.org",
		".",
		"a..b",
		"-a.org",
		"a\u200db.org", // ZWJ outside a permitted context
		"[::1",
		"[not-an-ip]",
	}
	for _, in := range invalid {
		if got, err := NormalizeDomain(in); !errors.Is(err, ErrInvalidDomain) {
			t.Errorf("NormalizeDomain(%.40q) = %q, %v; want ErrInvalidDomain", in, got, err)
		}
	}
}

func TestNormalizeLocal(t *testing.T) {
	valid := []struct{ in, want string }{
		{"alice", "alice"},
		{"Alice", "alice"},
		{"ＡＬＩＣＥ", "alice"},
		{"Σοφία", "σοφία"},
		{"a.b-c_d+e", "a.b-c_d+e"},
		{strings.Repeat("A", 1023), strings.Repeat("a", 1023)},
	}
	for _, tc := range valid {
		got, err := NormalizeLocal(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeLocal(%.40q) = %.40q, %v; want %.40q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "a b", "a@b", "a/b", "a:b", "<a>", "\xff", strings.Repeat("a", 1024), "ⅳ"} {
		if got, err := NormalizeLocal(in); !errors.Is(err, ErrInvalidLocal) {
			t.Errorf("NormalizeLocal(%.40q) = %q, %v; want ErrInvalidLocal", in, got, err)
		}
	}
}

func TestNormalizeResource(t *testing.T) {
	if got, err := NormalizeResource("Home\u2003Office"); err != nil || got != "Home Office" {
		t.Errorf("NormalizeResource = %q, %v", got, err)
	}
	if _, err := NormalizeResource(""); !errors.Is(err, ErrInvalidResource) {
		t.Errorf("NormalizeResource(\"\") = %v", err)
	}
}

// The ASCII fast paths must agree with the full PRECIS/IDNA processing they
// bypass. checkFastPaths asserts that for one input.
func checkFastPaths(t *testing.T, s string) {
	t.Helper()
	if asciiLocal(s) {
		want, err := precis.UsernameCaseMapped.String(s)
		if err != nil || want != lowerASCII(s) {
			t.Errorf("local fast path %q: %q, precis %q, %v", s, lowerASCII(s), want, err)
		}
	}
	if asciiFreeform(s) && s != "" {
		want, err := precis.OpaqueString.String(s)
		if err != nil || want != s {
			t.Errorf("resource fast path %q: precis %q, %v", s, want, err)
		}
	}
	if got, ok := asciiHostname(s); ok {
		want, err := idna.Lookup.ToUnicode(s)
		want = strings.TrimSuffix(want, ".")
		if err != nil || want != got {
			t.Errorf("domain fast path %q = %q, idna %q, %v", s, got, want, err)
		}
	}
}

func TestFastPathsAgree(t *testing.T) {
	// Every printable ASCII character alone and inside a word, plus the
	// hyphen and dot edge cases of host names.
	for c := 0x20; c < 0x7f; c++ {
		for _, s := range []string{string(rune(c)), "a" + string(rune(c)) + "b", "Ab" + string(rune(c))} {
			checkFastPaths(t, s)
		}
	}
	for _, s := range []string{"a-b", "ab--c", "xn--bcher-kva", "XN--BCHER-KVA", "a.b.", "a..b", "1.2.3.4", "A-1.B-2", "a-", "-a"} {
		checkFastPaths(t, s)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"juliet@example.com/foo", "Σ@example.com/♚", "a@[::1]/x", "xn--bcher-kva.example.", "a@b@c", "ab--c.d/ e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkFastPaths(t, s)
		j, err := Parse(s)
		if err != nil {
			return
		}
		// A parsed JID round-trips through its canonical string.
		j2, err := Parse(j.String())
		if err != nil || j2 != j {
			t.Fatalf("Parse(%q) = %v; reparse = %v, %v", s, j, j2, err)
		}
		if len(j.Local()) > MaxPartLen || len(j.Domain()) > MaxPartLen || len(j.Resource()) > MaxPartLen {
			t.Fatalf("Parse(%q): part over limit", s)
		}
	})
}
