package csi

import (
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// TestStatePortable: the state travels inactive with its held stanzas, and the
// copy left behind turns active and empty (what reaches it passes on).
func TestStatePortable(t *testing.T) {
	held := xmlstream.NewElement("jabber:client", "presence", xmlstream.Attr{Local: "from", Value: "b@x/r"})
	st := &state{inactive: true, buf: []*xmlstream.Element{held}, replay: map[*xmlstream.Element]int{}}
	b, err := encodeState(st)
	if err != nil {
		t.Fatal(err)
	}
	if st.inactive || st.buf != nil {
		t.Fatalf("left behind: inactive %v, %d held", st.inactive, len(st.buf))
	}
	v, err := decodeState(b)
	if err != nil {
		t.Fatal(err)
	}
	got := v.(*state)
	if !got.inactive || len(got.buf) != 1 || got.buf[0].String() != held.String() || got.replay == nil {
		t.Fatalf("decoded %+v", got)
	}
	if _, err := encodeState("x"); err == nil {
		t.Fatal("encoded a string")
	}
	for _, bad := range [][]byte{nil, {2, 0}, {1, 3}} {
		if _, err := decodeState(bad); err == nil {
			t.Fatalf("decoded %v", bad)
		}
	}
}
