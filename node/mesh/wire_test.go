package mesh

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/router/routertest"
)

func TestFramesRoundTrip(t *testing.T) {
	el := routertest.Parse(t, `<message xmlns:x="urn:x" to="b@example.com/r" from="a@example.com/r"><body>a&amp;b</body><x:y z="&quot;"/></message>`)
	var b []byte
	b = appendHello(b)
	b = appendAdd(b, "a@example.com/r", "basic", -3, true)
	b = appendRemove(b, "a@example.com/r")
	b = appendRoute(b, el)
	b = appendDeliver(b, "a@example.com/r", el)
	b = appendStop(b, "a@example.com/r", "conflict", "bye")
	b = appendEmpty(b, framePing)
	br := bufio.NewReader(bytes.NewReader(b))
	sp := newStanzaParser(1 << 20)
	var buf []byte
	next := func(want byte) *body {
		t.Helper()
		typ, bd, nb, err := readFrame(br, buf, 1<<20)
		buf = nb
		if err != nil || typ != want {
			t.Fatalf("frame %d, %v; want %d", typ, err, want)
		}
		return &body{b: bd}
	}
	if v := next(frameHello).uvarint(); v != protocolVersion {
		t.Fatalf("version %d", v)
	}
	r := next(frameAdd)
	if full, ht, p, a := r.str(), r.str(), r.varint(), r.byte(); r.err != nil || full != "a@example.com/r" || ht != "basic" || p != -3 || a != 1 {
		t.Fatalf("add %q %q %d %d %v", full, ht, p, a, r.err)
	}
	if s := next(frameRemove).str(); s != "a@example.com/r" {
		t.Fatalf("remove %q", s)
	}
	got, err := sp.parse(next(frameRoute).rest())
	if err != nil || got.String() != el.String() {
		t.Fatalf("route: %v\n got %s\nwant %s", err, got, el)
	}
	r = next(frameDeliver)
	if full := r.str(); full != "a@example.com/r" {
		t.Fatalf("deliver to %q", full)
	}
	if got, err := sp.parse(r.rest()); err != nil || got.String() != el.String() {
		t.Fatalf("deliver: %v %s", err, got)
	}
	r = next(frameStop)
	if full, c, txt := r.str(), r.str(), r.str(); r.err != nil || full != "a@example.com/r" || c != "conflict" || txt != "bye" {
		t.Fatalf("stop %q %q %q", full, c, txt)
	}
	next(framePing)
}

func TestBadFramesAreRefused(t *testing.T) {
	big := appendRoute(nil, routertest.Parse(t, `<message><body>`+strings.Repeat("x", 2000)+`</body></message>`))
	if _, _, _, err := readFrame(bufio.NewReader(bytes.NewReader(big)), nil, 1000); err == nil {
		t.Fatal("frame over the limit accepted")
	}
	if _, _, _, err := readFrame(bufio.NewReader(bytes.NewReader([]byte{0, 0, 0, 0})), nil, 1000); err == nil {
		t.Fatal("empty frame accepted")
	}
	r := &body{b: []byte{5, 'a'}}
	if r.str(); r.err == nil {
		t.Fatal("truncated string accepted")
	}
	sp := newStanzaParser(100)
	for _, x := range []string{
		`<stream:features/>`,
		`<message><body>` + strings.Repeat("x", 200) + `</body></message>`,
		`<message><body>unterminated`,
		`<!DOCTYPE x><message/>`,
	} {
		if el, err := sp.parse([]byte(x)); err == nil {
			t.Errorf("%s parsed as %s", x, el)
		}
	}
	if _, err := sp.parse([]byte(`<iq type="get" id="1"/>`)); err != nil {
		t.Fatalf("parser unusable after errors: %v", err)
	}
}
