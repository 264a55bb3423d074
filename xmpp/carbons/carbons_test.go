package carbons_test

import (
	"slices"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/carbons"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/presence"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func summaries(els []*xmlstream.Element) []string {
	var out []string
	for _, el := range els {
		s := moduletest.Summary(el)
		for _, dir := range []string{"sent", "received"} {
			if d := el.Child(carbons.NS, dir); d != nil {
				s += " " + dir + "(" + moduletest.Summary(d.Child(carbons.NSForward, "forwarded").Child("jabber:client", "message")) + ")"
			}
		}
		out = append(out, s)
	}
	return out
}

func want(t *testing.T, s *moduletest.Session, w ...string) {
	t.Helper()
	if got := summaries(s.Take()); !slices.Equal(got, w) {
		t.Fatalf("%s got %q, want %q", s.JID(), got, w)
	}
}

// A bare-JID message reaches the highest-priority resource; a lower one that enabled
// carbons gets a <received/> copy, once.
func TestBareJIDCopiesToLowerPriority(t *testing.T) {
	h := moduletest.New(t, map[string]string{"a.com": "basic"})
	h.Start("basic", presence.Module, nil)
	h.Start("basic", carbons.Module, nil)
	h.AddUser("a.com", "bob")
	h.AddUser("a.com", "alice")
	hi, lo, lo2 := h.Login("bob@a.com/hi"), h.Login("bob@a.com/lo"), h.Login("bob@a.com/lo2")
	hi.Send(`<presence><priority>5</priority></presence>`)
	lo.Send(`<presence/>`)
	lo2.Send(`<presence/>`)
	lo.Send(`<iq type='set' id='c'><enable xmlns='urn:xmpp:carbons:2'/></iq>`)
	for _, s := range []*moduletest.Session{hi, lo, lo2} {
		s.Take()
	}
	alice := h.Login("alice@a.com/x")
	alice.Send(`<message to='bob@a.com' type='chat'><body>hey</body></message>`)
	want(t, hi, "message/chat alice@a.com/x>bob@a.com hey")
	want(t, lo, "message/chat bob@a.com>bob@a.com/lo received(message/chat alice@a.com/x>bob@a.com hey)")
	want(t, lo2) // carbons not enabled
	// Headlines and groupchat are not copied; normal messages only with a body.
	alice.Send(`<message to='bob@a.com/hi' type='headline'><body>news</body></message>`)
	alice.Send(`<message to='bob@a.com/hi'><subject>no body</subject></message>`)
	want(t, hi, "message/headline alice@a.com/x>bob@a.com/hi news", "message/normal alice@a.com/x>bob@a.com/hi")
	want(t, lo)
}

func TestEnableRequests(t *testing.T) {
	h := moduletest.New(t, map[string]string{"a.com": "basic"})
	h.Start("basic", carbons.Module, nil)
	h.AddUser("a.com", "bob")
	h.AddUser("a.com", "alice")
	s := h.Login("bob@a.com/r")
	s.Send(`<iq type='get' id='1'><enable xmlns='urn:xmpp:carbons:2'/></iq>`)
	s.Send(`<iq type='set' id='2'><other xmlns='urn:xmpp:carbons:2'/></iq>`)
	s.Send(`<iq type='set' id='3' to='alice@a.com'><enable xmlns='urn:xmpp:carbons:2'/></iq>`)
	s.Send(`<iq type='set' id='4' to='a.com'><enable xmlns='urn:xmpp:carbons:2'/></iq>`)
	want(t, s, "error iq/bad-request", "error iq/bad-request", "error iq/not-allowed", "iq/result")
	if !carbons.Enabled(s) {
		t.Fatal("not enabled")
	}
}
