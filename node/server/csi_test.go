package server_test

import (
	"bufio"
	"encoding/base64"
	"maps"
	"net"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/csi"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// csiServer serves csi.example with mod_csi (buffer_max 3) added to the default
// modules, over plain TCP for raw clients.
func csiServer(t *testing.T) string {
	t.Helper()
	cfg := server.TestConfig(t.TempDir())
	mods := maps.Clone(cfg.Modules)
	mods[csi.Name] = config.Module{Name: csi.Name, Opts: map[string]any{"buffer_max": int64(3)}}
	cfg.Modules = mods
	s, _ := serve(t, cfg)
	provision(t, "http://"+s.AdminAddrs()[0]+"/api", "csi.example", "alice", "bob")
	return s.C2SAddrs()[0]
}

// postAuthFeatures authenticates with PLAIN and returns the features offered next to
// <bind/>.
func postAuthFeatures(t *testing.T, addr, user, domain string) *xmlstream.Element {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	p := xmlstream.NewParser(br, xmlstream.Limits{})
	header := `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='` + domain + `' version='1.0'>`
	next := func() *xmlstream.Element {
		el, err := p.Next()
		if err != nil {
			t.Fatal(err)
		}
		return el
	}
	open := func() *xmlstream.Element {
		if _, err := conn.Write([]byte(header)); err != nil {
			t.Fatal(err)
		}
		if _, err := p.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		return next()
	}
	open()
	cred := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00pw"))
	conn.Write([]byte(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` + cred + `</auth>`))
	if el := next(); el.Local != "success" {
		t.Fatalf("auth: %s", el)
	}
	p.Reset(br)
	return open()
}

// takeN reads n stanzas and returns their summaries.
func takeN(t *testing.T, c *meshtest.Client, n int) []string {
	t.Helper()
	var got []string
	for len(got) < n {
		select {
		case el := <-c.In:
			got = append(got, moduletest.Summary(el))
		case <-time.After(5 * time.Second):
			t.Fatalf("%s got %q, want %d stanzas", c.JID, got, n)
		}
	}
	return got
}

// nothing checks that nothing arrives for a moment, after an exchange that would have
// brought it.
func nothing(t *testing.T, c *meshtest.Client) {
	t.Helper()
	select {
	case el := <-c.In:
		t.Fatalf("%s received %s", c.JID, moduletest.Summary(el))
	case <-time.After(100 * time.Millisecond):
	}
}

// pingFrom has c ping its server and waits for the answer: everything c sent before
// is handled.
func pingFrom(t *testing.T, c *meshtest.Client, id string) {
	t.Helper()
	if err := c.Send(`<iq type='get' id='` + id + `' to='csi.example'><ping xmlns='urn:xmpp:ping'/></iq>`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(5*time.Second, meshtest.IQ(id)); err != nil {
		t.Fatal(err)
	}
}

// TestCSIEndToEnd covers XEP-0352: the stream feature, buffering of presence and
// body-less messages while inactive, and the three flushes (urgent stanza, full
// buffer, <active/>), each in arrival order.
func TestCSIEndToEnd(t *testing.T) {
	addr := csiServer(t)
	if f := postAuthFeatures(t, addr, "bob", "csi.example"); f.Child(csi.NS, "csi") == nil {
		t.Fatalf("no <csi/> in %s", f)
	}
	bob := csiLogin(t, addr, "bob")
	alice := csiLogin(t, addr, "alice")
	a, b := alice.JID.String(), "bob@csi.example"
	for _, c := range []*meshtest.Client{alice, bob} {
		for len(c.In) > 0 {
			<-c.In
		}
	}
	csiSend(t, bob, `<inactive xmlns='urn:xmpp:csi:0'/>`)
	pingFrom(t, bob, "p0")

	presence := func(status string) string {
		return `<presence to='` + b + `'><status>` + status + `</status></presence>`
	}
	const composing = `<message to='bob@csi.example' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`

	// Held back, then flushed in order before an urgent message.
	csiSend(t, alice, presence("s1"))
	csiSend(t, alice, composing)
	pingFrom(t, alice, "a1")
	nothing(t, bob)
	csiSend(t, alice, `<message to='bob@csi.example' type='chat'><body>urgent</body></message>`)
	wantSummaries(t, takeN(t, bob, 3),
		"presence/available "+a+">"+b+" [s1]",
		"message/chat "+a+">"+b,
		"message/chat "+a+">"+b+" urgent")

	// A full buffer (buffer_max 3) is flushed.
	csiSend(t, alice, presence("s2"))
	csiSend(t, alice, presence("s3"))
	pingFrom(t, alice, "a2")
	nothing(t, bob)
	csiSend(t, alice, presence("s4"))
	wantSummaries(t, takeN(t, bob, 3),
		"presence/available "+a+">"+b+" [s2]",
		"presence/available "+a+">"+b+" [s3]",
		"presence/available "+a+">"+b+" [s4]")

	// <active/> flushes, and then nothing is held back.
	csiSend(t, alice, presence("s5"))
	pingFrom(t, alice, "a3")
	nothing(t, bob)
	csiSend(t, bob, `<active xmlns='urn:xmpp:csi:0'/>`)
	wantSummaries(t, takeN(t, bob, 1), "presence/available "+a+">"+b+" [s5]")
	csiSend(t, alice, composing)
	wantSummaries(t, takeN(t, bob, 1), "message/chat "+a+">"+b)
}

func csiSend(t *testing.T, c *meshtest.Client, raw string) {
	t.Helper()
	if err := c.Send(raw); err != nil {
		t.Fatal(err)
	}
}

// csiLogin logs in over a raw socket with initial presence, and waits for its echo.
func csiLogin(t *testing.T, addr, user string) *meshtest.Client {
	t.Helper()
	c, err := meshtest.Login(addr, user, "csi.example", "pw", "r")
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	t.Cleanup(c.Close)
	csiSend(t, c, `<presence/>`)
	if _, err := c.Expect(meshtest.Timeout, meshtest.Named("presence")); err != nil {
		t.Fatal(err)
	}
	return c
}
