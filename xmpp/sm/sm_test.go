package sm

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"

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

// TestIDs: ids carry their node's tag and 128 random bits in base64url; the
// tagged node is asked first, then the others in order.
func TestIDs(t *testing.T) {
	m := &mod{tag: nodeTag("n2@host")}
	id := m.newID()
	if len(id) != tagLen+22 || id[:tagLen] != nodeTag("n2@host") || id == m.newID() {
		t.Fatalf("id %q", id)
	}
	for _, c := range id {
		if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", c) {
			t.Fatalf("id %q is not base64url", id)
		}
	}
	if nodeTag("n1@host") == nodeTag("n2@host") {
		t.Fatal("two nodes share a tag")
	}
	cl := fakeCluster{"n3@host", "n1@host", "n2@host"}
	if got := m.candidates(cl, id); !slices.Equal(got, []string{"n2@host", "n1@host", "n3@host"}) {
		t.Fatalf("candidates %v", got)
	}
	if got := m.candidates(cl, "short"); !slices.Equal(got, []string{"n1@host", "n2@host", "n3@host"}) {
		t.Fatalf("candidates of an untagged id %v", got)
	}
}

type fakeCluster []string

func (f fakeCluster) Self() string    { return "self" }
func (f fakeCluster) Peers() []string { return f }
func (f fakeCluster) Call(context.Context, string, string, []byte) ([]byte, error) {
	return nil, module.ErrNoCluster
}
func (f fakeCluster) Handle(string, func(context.Context, string, []byte) ([]byte, error)) {}
func (f fakeCluster) Deliver(string, jid.JID, *xmlstream.Element) bool                     { return false }
