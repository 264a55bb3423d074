package presence

import (
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
)

func TestDirectedPortable(t *testing.T) {
	d := &directed{set: map[jid.JID]struct{}{}}
	d.add(jid.MustParse("a@x/r"))
	d.add(jid.MustParse("room@muc.x"))
	b, err := encodeDirected(d)
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeDirected(b)
	if err != nil {
		t.Fatal(err)
	}
	got := v.(*directed).set
	if len(got) != 2 {
		t.Fatalf("decoded %v", got)
	}
	for j := range d.set {
		if _, ok := got[j]; !ok {
			t.Fatalf("%v missing from %v", j, got)
		}
	}
	if v, err := decodeDirected(nil); err != nil || len(v.(*directed).set) != 0 {
		t.Fatalf("empty set: %v %v", v, err)
	}
	if _, err := decodeDirected([]byte("@@bad\n")); err == nil {
		t.Fatal("decoded a bad JID")
	}
}
