package xmlstream

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// genStanza builds random, mostly well-formed XML from the constructs the
// profile allows (and a few it rejects), for comparison with encoding/xml.
func genStanza(r *rand.Rand, b *strings.Builder, depth int) {
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	name := pick("message", "body", "a", "p:x", "q:y", "é", "x-1.b", "_z", "xml:t")
	b.WriteString("<" + name)
	used := map[string]bool{}
	if depth == 1 && r.IntN(3) > 0 {
		b.WriteString(" xmlns:p='urn:p' xmlns:q='urn:q'")
		used["xmlns:p"], used["xmlns:q"] = true, true
	}
	for range r.IntN(5) {
		a := pick("id", "to", "p:a", "q:a", "xml:lang", "xmlns", "xmlns:p", "xmlns:q", "ü")
		if used[a] && r.IntN(10) > 0 {
			continue
		}
		used[a] = true
		var v string
		switch {
		case a == "xmlns":
			v = pick("urn:d", "", "jabber:client", "urn:a&amp;b")
		case strings.HasPrefix(a, "xmlns:"):
			v = pick("urn:p", "urn:q", "urn:d")
		default:
			v = genText(r, true)
		}
		q := pick("'", `"`)
		b.WriteString(pick(" ", "\n", "\t ") + a + pick("=", " = ") + q + strings.ReplaceAll(v, q, "") + q)
	}
	if depth > 3 || r.IntN(4) == 0 {
		b.WriteString(pick("/>", " />"))
		return
	}
	b.WriteString(">")
	for range r.IntN(4) {
		switch r.IntN(4) {
		case 0:
			genStanza(r, b, depth+1)
		case 1:
			b.WriteString("<![CDATA[" + strings.ReplaceAll(genText(r, false), "]]>", "") + "]]>")
		default:
			b.WriteString(genText(r, false))
		}
	}
	b.WriteString("</" + name + pick(">", " >"))
}

func genText(r *rand.Rand, attr bool) string {
	parts := []string{"hi", " ", "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#65;", "&#x263A;", "&#10;",
		"&#9;", "&#13;", "\r\n", "\r", "\n", "\t", "Привет", "🎉", "]", ">", "'", `"`, "\u0085"}
	var b strings.Builder
	for range r.IntN(6) {
		p := parts[r.IntN(len(parts))]
		if !attr && p == ">" && strings.HasSuffix(b.String(), "]]") {
			continue
		}
		b.WriteString(p)
	}
	return b.String()
}

func TestOracleRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	compared := 0
	const n = 3000
	for range n {
		var b strings.Builder
		for range 1 + r.IntN(3) {
			genStanza(r, &b, 1)
			if r.IntN(2) == 0 {
				b.WriteString(" \n")
			}
		}
		if compareWithOracle(t, []byte(b.String())) == oracleAgreed {
			compared++
		}
	}
	if compared < n/2 {
		t.Fatalf("only %d of %d generated inputs were compared", compared, n)
	}
	t.Logf("%d of %d parsed by both and compared", compared, n)
}
