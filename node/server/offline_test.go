package server_test

import (
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
)

const nsDelay = "urn:xmpp:delay"

// pingServer waits for the server's answer to a ping: the sender's stanzas before it
// are handled, and a message mod_offline took is committed by then (the sender's
// goroutine waits for the store).
func (c *imClient) pingServer(domain string) {
	c.t.Helper()
	c.send(`<iq type='get' id='ping' to='` + domain + `'><ping xmlns='urn:xmpp:ping'/></iq>`)
	c.expect("iq/result")
}

// offlineMessages reads n messages, skipping other stanzas, and checks their XEP-0203
// delay: from the domain, stamped no later than now.
func (c *imClient) offlineMessages(domain string, n int) []string {
	c.t.Helper()
	var got []string
	for len(got) < n {
		select {
		case el := <-c.in:
			if el.Local != "message" {
				continue
			}
			got = append(got, moduletest.Summary(el))
			d := el.Child(nsDelay, "delay")
			if d == nil || d.Attr("from") != domain {
				c.t.Fatalf("offline message without delay from %s: %s", domain, el)
			}
			stamp, err := time.Parse(time.RFC3339Nano, d.Attr("stamp"))
			if err != nil || stamp.After(time.Now()) || time.Since(stamp) > time.Minute {
				c.t.Fatalf("delay stamp %q: %v", d.Attr("stamp"), err)
			}
		case <-time.After(5 * time.Second):
			c.t.Fatalf("got %q, waiting for %d offline messages", got, n)
		}
	}
	return got
}

func wantSummaries(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// TestOfflineDeliveryEndToEnd: messages to a user with no session are stored and
// delivered, in order and with delay stamps, on the next initial presence; then
// they are gone. Headlines are not stored.
func TestOfflineDeliveryEndToEnd(t *testing.T) {
	s, api := startTLS(t)
	addr := s.C2SAddrs()[0]
	provision(t, api, "off.example", "alice", "bob")
	alice := imLogin(t, addr, "alice@off.example", "pw")
	a := alice.jid()
	alice.send(`<message to='bob@off.example' type='chat'><body>one</body></message>`)
	alice.send(`<message to='bob@off.example/gone' type='chat'><body>two</body></message>`)
	alice.send(`<message to='bob@off.example' type='headline'><body>news</body></message>`)
	alice.send(`<message to='bob@off.example'><body>three</body></message>`)
	alice.pingServer("off.example")

	bob := imLogin(t, addr, "bob@off.example", "pw")
	// Nothing before the session is available.
	bob.quiet()
	bob.send(`<presence/>`)
	got := bob.offlineMessages("off.example", 3)
	wantSummaries(t, got,
		"message/chat "+a+">bob@off.example one",
		"message/chat "+a+">bob@off.example/gone two",
		"message/normal "+a+">bob@off.example three")
	bob.expectFrom(bob.jid())
	bob.quiet()
	bob.Close()

	// Delivered means deleted: a new session gets nothing.
	bob2 := imLogin(t, addr, "bob@off.example", "pw")
	bob2.send(`<presence/>`)
	// Offline messages would come before the echo of the presence, and none may
	// come after it; the first session's unavailable presence may still arrive.
	echoed := false
	deadline := time.After(5 * time.Second)
	for {
		select {
		case <-deadline:
			t.Fatal("no presence echo")
		case el := <-bob2.in:
			if el.Local == "message" {
				t.Fatalf("delivered twice: %s", moduletest.Summary(el))
			}
			echoed = echoed || el.Attr("from") == bob2.jid()
		case <-time.After(100 * time.Millisecond):
			if !echoed {
				continue
			}
			return
		}
	}
}

// TestOfflineLimit: past max_user_offline_messages the sender gets
// <resource-constraint/> (type wait), and the stored messages are all delivered.
func TestOfflineLimit(t *testing.T) {
	cfg := server.TestConfig(t.TempDir())
	cfg.Access["max_user_offline_messages"] = []config.AccessClause{{ACL: "admin", Value: "5000"}, {ACL: "all", Value: "3"}}
	s, api := startCfg(t, cfg)
	defer s.Close()
	addr := s.C2SAddrs()[0]
	provision(t, api, "lim.example", "alice", "bob")
	alice := imLogin(t, addr, "alice@lim.example", "pw")
	a := alice.jid()
	for _, body := range []string{"m1", "m2", "m3", "m4", "m5"} {
		alice.send(`<message to='bob@lim.example' type='chat' id='` + body + `'><body>` + body + `</body></message>`)
	}
	for _, id := range []string{"m4", "m5"} {
		select {
		case el := <-alice.in:
			if moduletest.Summary(el) != "error message/resource-constraint" || el.Attr("id") != id {
				t.Fatalf("for %s got %s", id, el)
			}
			if e := el.Child("jabber:client", "error"); e.Attr("type") != "wait" {
				t.Fatalf("error type %q", e.Attr("type"))
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no resource-constraint")
		}
	}
	alice.quiet()

	bob := imLogin(t, addr, "bob@lim.example", "pw")
	bob.send(`<presence/>`)
	wantSummaries(t, bob.offlineMessages("lim.example", 3),
		"message/chat "+a+">bob@lim.example m1",
		"message/chat "+a+">bob@lim.example m2",
		"message/chat "+a+">bob@lim.example m3")
	bob.expectFrom(bob.jid())
	bob.quiet()
}

// TestOfflineSurvivesRestart: stored messages are in the replicated store.
func TestOfflineSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s, api := startCfg(t, server.TestConfig(dir))
	provision(t, api, "keepoff.example", "alice", "bob")
	alice := imLogin(t, s.C2SAddrs()[0], "alice@keepoff.example", "pw")
	a := alice.jid()
	alice.send(`<message to='bob@keepoff.example' type='chat'><body>before</body></message>`)
	alice.send(`<message to='bob@keepoff.example' type='chat'><body>restart</body></message>`)
	alice.pingServer("keepoff.example")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, _ = startCfg(t, server.TestConfig(dir))
	defer s.Close()
	bob := imLogin(t, s.C2SAddrs()[0], "bob@keepoff.example", "pw")
	bob.send(`<presence/>`)
	wantSummaries(t, bob.offlineMessages("keepoff.example", 2),
		"message/chat "+a+">bob@keepoff.example before",
		"message/chat "+a+">bob@keepoff.example restart")
}
