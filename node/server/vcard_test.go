package server_test

import (
	"context"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// sendBg sends like send, with a context that is never canceled: mellium arms a
// write deadline in the past when the context of a Send ends, and a canceled context
// can race with the next Send, which then fails with an i/o timeout. Tests that send
// many stanzas in a row (polling) use this.
func (c *imClient) sendBg(raw string) {
	c.t.Helper()
	if err := c.Send(context.Background(), xml.NewDecoder(strings.NewReader(raw))); err != nil && err != io.EOF {
		c.t.Fatalf("send %s: %v", raw, err)
	}
}

// iq sends an IQ and returns the reply with its id, skipping anything else.
func (c *imClient) iq(id, raw string) *xmlstream.Element {
	c.t.Helper()
	c.sendBg(raw)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case el := <-c.in:
			if el.Local == "iq" && el.Attr("id") == id && (el.Attr("type") == "result" || el.Attr("type") == "error") {
				return el
			}
		case <-deadline:
			c.t.Fatalf("%s: no reply to %s", c.LocalAddr(), id)
		}
	}
}

// iqSummary is the reply's summary ("iq/result", "error iq/forbidden").
func (c *imClient) iqSummary(id, raw string) string {
	c.t.Helper()
	return moduletest.Summary(c.iq(id, raw))
}

// TestVCardEndToEnd: a vCard round trip with a real client, read by another user,
// refused when set for someone else or over 64 KiB, and empty for a user without one.
func TestVCardEndToEnd(t *testing.T) {
	cfg := server.TestConfig(t.TempDir())
	// A listener that lets a stanza over 64 KiB through, so the module's own limit is
	// what refuses the big vCard.
	cfg.Listen.C2S[0].MaxStanzaSize = 1 << 20
	s, api := startCfg(t, cfg)
	defer s.Close()
	provision(t, api, "vc.example", "alice", "bob")
	alice := imLogin(t, s.C2SAddrs()[0], "alice@vc.example", "pw")
	bob := imLogin(t, s.C2SAddrs()[0], "bob@vc.example", "pw")

	if got := alice.iqSummary("s1", `<iq type='set' id='s1'><vCard xmlns='vcard-temp'><FN>Alice &amp; Co</FN><NICKNAME>al</NICKNAME></vCard></iq>`); got != "iq/result" {
		t.Fatalf("set: %s", got)
	}
	check := func(c *imClient, id, to string) {
		t.Helper()
		el := c.iq(id, `<iq type='get' id='`+id+`'`+to+`><vCard xmlns='vcard-temp'/></iq>`)
		v := el.Child("vcard-temp", "vCard")
		if el.Attr("type") != "result" || v == nil || v.Child("vcard-temp", "FN").Text() != "Alice & Co" || v.Child("vcard-temp", "NICKNAME").Text() != "al" {
			t.Fatalf("vCard read by %s: %s", c.jid(), el)
		}
	}
	check(alice, "g1", "")
	check(bob, "g2", " to='alice@vc.example'")

	// Bob has none: an empty vCard, as MongooseIM answers.
	el := alice.iq("g3", `<iq type='get' id='g3' to='bob@vc.example'><vCard xmlns='vcard-temp'/></iq>`)
	if v := el.Child("vcard-temp", "vCard"); el.Attr("type") != "result" || v == nil || len(v.Children) != 0 {
		t.Fatalf("empty vCard: %s", el)
	}
	if got := bob.iqSummary("s2", `<iq type='set' id='s2' to='alice@vc.example'><vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard></iq>`); got != "error iq/forbidden" {
		t.Fatalf("set for another user: %s", got)
	}
	big := `<iq type='set' id='s3'><vCard xmlns='vcard-temp'><DESC>` + strings.Repeat("x", 70000) + `</DESC></vCard></iq>`
	if got := alice.iqSummary("s3", big); got != "error iq/not-acceptable" {
		t.Fatalf("oversized vCard: %s", got)
	}
	if got := alice.iqSummary("u1", `<iq type='get' id='u1' to='nobody@vc.example'><vCard xmlns='vcard-temp'/></iq>`); got != "error iq/service-unavailable" {
		t.Fatalf("vCard of a missing account: %s", got)
	}
	// The refused writes changed nothing.
	check(bob, "g4", " to='alice@vc.example'")

	// Removing the account removes its vCard: a new alice starts without one.
	if code := rest(t, "DELETE", api+"/users/vc.example/alice", ""); code != 204 {
		t.Fatalf("remove user: %d", code)
	}
	if code := rest(t, "POST", api+"/users/vc.example", `{"username":"alice","password":"pw"}`); code != 201 {
		t.Fatalf("re-add user: %d", code)
	}
	// The removal is applied asynchronously after the account goes: ask until it shows.
	deadline := time.Now().Add(5 * time.Second)
	for {
		el := bob.iq("g5", `<iq type='get' id='g5' to='alice@vc.example'><vCard xmlns='vcard-temp'/></iq>`)
		if v := el.Child("vcard-temp", "vCard"); v != nil && len(v.Children) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("vCard survived the account: %s", el)
		}
	}
}

// TestPrivateEndToEnd: private XML per namespace, only for oneself, reserved
// namespaces refused.
func TestPrivateEndToEnd(t *testing.T) {
	s, api := startTLS(t)
	provision(t, api, "pr.example", "alice", "bob")
	alice := imLogin(t, s.C2SAddrs()[0], "alice@pr.example", "pw")
	bob := imLogin(t, s.C2SAddrs()[0], "bob@pr.example", "pw")

	set := `<iq type='set' id='s1'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'><conference jid='r@muc.pr.example' name='R'/></storage><prefs xmlns='ex:prefs'>v</prefs></query></iq>`
	if got := alice.iqSummary("s1", set); got != "iq/result" {
		t.Fatalf("set: %s", got)
	}
	el := alice.iq("g1", `<iq type='get' id='g1'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/><other xmlns='ex:none'/></query></iq>`)
	q := el.Child("jabber:iq:private", "query")
	if q == nil || len(q.Elements()) != 2 {
		t.Fatalf("get: %s", el)
	}
	if c := q.Elements()[0].Child("storage:bookmarks", "conference"); c == nil || c.Attr("name") != "R" {
		t.Errorf("bookmarks: %s", el)
	}
	if o := q.Elements()[1]; o.Space != "ex:none" || len(o.Children) != 0 {
		t.Errorf("nothing stored comes back empty: %s", el)
	}
	for _, tc := range []struct{ name, who, raw, want string }{
		{"another user's", "bob", `<iq type='get' id='x' to='alice@pr.example'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>`, "error iq/forbidden"},
		{"reserved jabber:", "alice", `<iq type='set' id='x'><query xmlns='jabber:iq:private'><query xmlns='jabber:iq:roster'/></query></iq>`, "error iq/not-acceptable"},
		{"reserved vcard-temp", "alice", `<iq type='set' id='x'><query xmlns='jabber:iq:private'><vCard xmlns='vcard-temp'/></query></iq>`, "error iq/not-acceptable"},
		{"reserved http://jabber.org/", "alice", `<iq type='get' id='x'><query xmlns='jabber:iq:private'><q xmlns='http://jabber.org/protocol/disco#info'/></query></iq>`, "error iq/not-acceptable"},
		{"no child", "alice", `<iq type='get' id='x'><query xmlns='jabber:iq:private'/></iq>`, "error iq/bad-request"},
	} {
		c := alice
		if tc.who == "bob" {
			c = bob
		}
		if got := c.iqSummary("x", tc.raw); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	// Bob's storage is his own.
	el = bob.iq("g2", `<iq type='get' id='g2'><query xmlns='jabber:iq:private'><prefs xmlns='ex:prefs'/></query></iq>`)
	if p := el.Child("jabber:iq:private", "query").Child("ex:prefs", "prefs"); p == nil || p.Text() != "" {
		t.Errorf("bob's prefs: %s", el)
	}
}
