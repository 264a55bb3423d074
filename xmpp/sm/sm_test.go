package sm

import (
	"errors"
	"math"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func TestAck(t *testing.T) {
	msg := xmlstream.NewElement("jabber:client", "message")
	// Counters near the 2^32 wrap: h is modulo 2^32 (XEP-0198 section 4).
	st := &state{acked: math.MaxUint32 - 1, out: 1, buf: []*xmlstream.Element{msg, msg, msg}}
	if err := st.ackLocked(math.MaxUint32); err != nil || len(st.buf) != 2 {
		t.Fatalf("ack 1: %v, %d left", err, len(st.buf))
	}
	if err := st.ackLocked(math.MaxUint32); err != nil || len(st.buf) != 2 {
		t.Fatalf("repeated ack: %v, %d left", err, len(st.buf))
	}
	if err := st.ackLocked(1); err != nil || len(st.buf) != 0 {
		t.Fatalf("ack across the wrap: %v, %d left", err, len(st.buf))
	}
	err := st.ackLocked(2)
	var se *xmlstream.StreamError
	if !errors.As(err, &se) || se.Condition != "undefined-condition" || se.Text != TextHBeyond {
		t.Fatalf("h beyond what was sent: %v", err)
	}
	st.acked, st.buf = 5, []*xmlstream.Element{msg}
	if err := st.ackLocked(4); err == nil {
		t.Fatal("an h going backwards was accepted")
	}
}

func TestParseH(t *testing.T) {
	for in, ok := range map[string]bool{"0": true, "4294967295": true, "4294967296": false, "-1": false, "x": false, "": false} {
		el := xmlstream.NewElement(NS, "a", xmlstream.Attr{Local: "h", Value: in})
		if _, got := parseH(el); got != ok {
			t.Errorf("h=%q: ok %v, want %v", in, got, ok)
		}
	}
}
