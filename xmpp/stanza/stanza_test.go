package stanza

import (
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func TestErrorReply(t *testing.T) {
	msg := xmlstream.NewElement(NSClient, "message",
		xmlstream.Attr{Local: "from", Value: "a@x/r"}, xmlstream.Attr{Local: "to", Value: "b@y"},
		xmlstream.Attr{Local: "id", Value: "1"}, xmlstream.Attr{Local: "type", Value: "chat"})
	body := xmlstream.NewElement(NSClient, "body")
	body.AddText("hi")
	msg.AddChild(body)
	r := ErrorReply(msg, ServiceUnavailable, "Filtered by the domain isolation")
	want := `<message xmlns="jabber:client" id="1" type="error" from="b@y" to="a@x/r"><body>hi</body>` +
		`<error type="cancel" code="503"><service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>` +
		`<text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="en">Filtered by the domain isolation</text></error></message>`
	if got := r.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if msg.Attr("type") != "chat" {
		t.Error("original modified")
	}
	if !IsError(r) || IsError(msg) {
		t.Error("IsError")
	}
}

func TestResult(t *testing.T) {
	iq := xmlstream.NewElement(NSClient, "iq", xmlstream.Attr{Local: "from", Value: "a@x/r"},
		xmlstream.Attr{Local: "to", Value: "x"}, xmlstream.Attr{Local: "id", Value: "p1"}, xmlstream.Attr{Local: "type", Value: "get"})
	got := Result(iq, nil).String()
	want := `<iq xmlns="jabber:client" type="result" id="p1" from="x" to="a@x/r"/>`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
