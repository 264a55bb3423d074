package c2s

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func TestMessageExchange(t *testing.T) {
	s := startServer(t, noTLS)
	alice, bob := dial(t, s.addr), dial(t, s.addr)
	aj := alice.login("alice", "PLAIN", "home")
	bj := bob.login("bob", "SCRAM-SHA-512", "work")
	alice.send(`<message to='` + bj + `' type='chat' id='m1'><body>hi &amp; bye</body></message>`)
	m := bob.expect(nsClient, "message")
	if m.Attr("from") != aj || m.Child(nsClient, "body").Text() != "hi & bye" || m.Attr("id") != "m1" {
		t.Errorf("bob got %s", m)
	}
	// A bare JID reaches every resource.
	bob2 := dial(t, s.addr)
	bob2.login("bob", "PLAIN", "phone")
	alice.send(`<message to='bob@example.com' type='chat'><body>both</body></message>`)
	for _, c := range []*rawClient{bob, bob2} {
		if m := c.expect(nsClient, "message"); m.Child(nsClient, "body").Text() != "both" {
			t.Errorf("got %s", m)
		}
	}
}

func TestFromIsStamped(t *testing.T) {
	s := startServer(t, noTLS)
	c := dial(t, s.addr)
	j := c.login("alice", "PLAIN", "res")
	for _, tc := range []struct{ from, want string }{
		{"", j},
		{j, j},
		{"alice@example.com", "alice@example.com"},
		{"ALICE@Example.COM/res", j},
	} {
		from := ""
		if tc.from != "" {
			from = ` from='` + tc.from + `'`
		}
		c.send(`<message to='nobody@example.com'` + from + `><body>x</body></message>`)
		select {
		case el := <-s.r.routed:
			if got := el.Attr("from"); got != tc.want {
				t.Errorf("from %q routed as %q, want %q", tc.from, got, tc.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("stanza not routed")
		}
	}
}

func TestForgedFrom(t *testing.T) {
	for _, from := range []string{"bob@example.com", "alice@example.com/other", "alice@other.example", "example.com", "@@"} {
		t.Run(from, func(t *testing.T) {
			s := startServer(t, noTLS)
			c := dial(t, s.addr)
			c.login("alice", "PLAIN", "res")
			c.send(`<message from='` + from + `' to='bob@example.com'><body>x</body></message>`)
			c.expectStreamError(InvalidFrom)
			if len(s.r.routed) != 0 {
				t.Error("forged stanza routed")
			}
		})
	}
}

func TestJIDMalformed(t *testing.T) {
	s := startServer(t, noTLS)
	c := dial(t, s.addr)
	j := c.login("alice", "PLAIN", "res")
	c.send(`<message to='a@b@c' id='x'><body>x</body></message>`)
	el := c.expect(nsClient, "message")
	if stanzaError(el) != "jid-malformed/modify" || el.Attr("to") != j || el.Attr("from") != "" || el.Attr("id") != "x" {
		t.Errorf("got %s", el)
	}
	// An error stanza is never answered with an error; the stream goes on.
	c.send(`<message to='a@b@c' type='error'/><iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if el := c.expect(nsClient, "iq"); el.Attr("id") != "p" || el.Attr("type") != "result" {
		t.Errorf("got %s", el)
	}
}

func TestLegacySessionIQ(t *testing.T) {
	s := startServer(t, noTLS)
	c := dial(t, s.addr)
	j := c.login("alice", "PLAIN", "")
	c.send(`<iq type='set' id='s1' to='example.com'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`)
	el := c.expect(nsClient, "iq")
	if el.Attr("type") != "result" || el.Attr("id") != "s1" || el.Attr("to") != j || el.Attr("from") != "example.com" {
		t.Errorf("session IQ answered %s", el)
	}
	c.send(`<iq type='set' id='s2'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`)
	if el := c.expect(nsClient, "iq"); el.Attr("type") != "result" || el.Attr("id") != "s2" {
		t.Errorf("session IQ answered %s", el)
	}
	// A second bind is not allowed (RFC 6120 binds one resource per stream).
	c.send(`<iq type='set' id='b2'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`)
	if el := c.expect(nsClient, "iq"); stanzaError(el) != "not-allowed/cancel" {
		t.Errorf("second bind answered %s", el)
	}
}

func TestResourceBinding(t *testing.T) {
	s := startServer(t, noTLS)
	c := dial(t, s.addr)
	j := c.login("alice", "PLAIN", "")
	pj := jid.MustParse(j)
	if pj.Bare().String() != "alice@example.com" || len(pj.Resource()) < 16 {
		t.Errorf("generated JID %s", j)
	}
	// Another generated resource differs.
	c2 := dial(t, s.addr)
	if j2 := c2.login("alice", "PLAIN", ""); j2 == j {
		t.Errorf("same generated resource twice: %s", j)
	}

	for name, res := range map[string]string{"too long": strings.Repeat("r", 1024), "control character": "a\u0085b"} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, s.addr)
			c.open(testDomain)
			c.authPlain("", "bob", testPassword)
			c.open(testDomain)
			c.send(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>` + res + `</resource></bind></iq>`)
			if el := c.expect(nsClient, "iq"); stanzaError(el) != "bad-request/modify" {
				t.Errorf("got %s", el)
			}
			// The client may try again.
			if j := c.bind("good"); j != "bob@example.com/good" {
				t.Errorf("bound %s", j)
			}
		})
	}
	t.Run("get", func(t *testing.T) {
		c := dial(t, s.addr)
		c.open(testDomain)
		c.authPlain("", "bob", testPassword)
		c.open(testDomain)
		c.send(`<iq type='get' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`)
		if el := c.expect(nsClient, "iq"); stanzaError(el) != "bad-request/modify" {
			t.Errorf("got %s", el)
		}
	})
}

func TestReplacedByNewConnection(t *testing.T) {
	s := startServer(t, noTLS)
	old := dial(t, s.addr)
	old.login("alice", "PLAIN", "same")
	c := dial(t, s.addr)
	c.login("alice", "PLAIN", "same")
	el := old.expectStreamError(Conflict)
	if txt := el.Child(xmlstream.StreamErrorsNamespace, "text"); txt == nil || txt.Text() != "Replaced by new connection" {
		t.Errorf("conflict %s", el)
	}
	// The new session works and the old one's unbind did not remove it.
	<-s.r.unbound
	c.send(`<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>`)
	c.expect(nsClient, "iq")
	if s.r.session("alice@example.com/same") == nil {
		t.Error("new session unbound")
	}
}

func TestTooManySessions(t *testing.T) {
	s := startServer(t, noTLS)
	s.r.maxSessions = 1
	a := dial(t, s.addr)
	a.login("alice", "PLAIN", "one")
	c := dial(t, s.addr)
	c.open(testDomain)
	c.authPlain("", "alice", testPassword)
	c.open(testDomain)
	c.send(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>two</resource></bind></iq>`)
	if el := c.expect(nsClient, "iq"); stanzaError(el) != "resource-constraint/wait" {
		t.Errorf("got %s", el)
	}
}

func TestWhitespaceKeepAlive(t *testing.T) {
	s := startServer(t, noTLS, func(c *Config) { c.StateTimeout = 200 * time.Millisecond })
	c := dial(t, s.addr)
	c.login("alice", "PLAIN", "")
	c.send(" \n\t ")
	c.send(" <iq type='get' id='p' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>\n")
	if el := c.expect(nsClient, "iq"); el.Attr("type") != "result" {
		t.Errorf("ping answered %s", el)
	}
	// An established session has no negotiation timeout: after more than
	// StateTimeout of silence it still answers.
	time.Sleep(400 * time.Millisecond)
	c.send(`<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if el := c.expect(nsClient, "iq"); el.Attr("id") != "p2" {
		t.Errorf("got %s", el)
	}
}

func TestSlowReaderIsDisconnected(t *testing.T) {
	s := startServer(t, noTLS, func(c *Config) { c.OutQueueLen = 100 })
	c := dial(t, s.addr)
	j := c.login("alice", "PLAIN", "slow")
	sess := s.r.session(j)
	msg := xmlstream.NewElement(nsClient, "message", xmlstream.Attr{Local: "to", Value: j})
	msg.AddChild(xmlstream.NewElement(nsClient, "body"))
	msg.Child(nsClient, "body").AddText(strings.Repeat("x", 1000))
	// The client never reads: the kernel buffers fill, then the queue.
	refused := 0
	for range 200000 {
		if !sess.Deliver(msg) {
			refused++
			if refused > 10 {
				break
			}
		}
	}
	if refused == 0 {
		t.Fatal("queue never overflowed")
	}
	select {
	case u := <-s.r.unbound:
		if u.String() != j {
			t.Errorf("unbound %s", u)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("slow session not unbound")
	}
	c.expectEOF()
}

func TestDeliverNeverBlocksOnBytes(t *testing.T) {
	s := startServer(t, noTLS, func(c *Config) { c.OutQueueBytes = 64 << 10 })
	c := dial(t, s.addr)
	j := c.login("alice", "PLAIN", "slow")
	sess := s.r.session(j)
	msg := xmlstream.NewElement(nsClient, "message")
	msg.AddText(strings.Repeat("y", 32<<10))
	ok := true
	for i := 0; ok && i < 100000; i++ {
		ok = sess.Deliver(msg)
	}
	if ok {
		t.Fatal("byte bound never hit")
	}
	<-s.r.unbound
}

func TestStopEndsSessionsQuickly(t *testing.T) {
	s := startServer(t, noTLS)
	s.r.maxSessions = 100
	const n = 50
	clients := make([]*rawClient, n)
	jids := make([]string, n)
	for i := range clients {
		clients[i] = dial(t, s.addr)
		jids[i] = clients[i].login("alice", "PLAIN", "")
	}
	start := time.Now()
	for _, j := range jids {
		s.r.session(j).Stop("", "")
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Stop blocked for %v", d)
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.expectClosed()
		}()
	}
	wg.Wait()
	for range n {
		<-s.r.unbound
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("closing %d sessions took %v", n, d)
	}
	// Stop with a condition, as for a disabled domain.
	c := dial(t, s.addr)
	j := c.login("bob", "PLAIN", "")
	s.r.session(j).Stop(HostUnknown, "")
	c.expectStreamError(HostUnknown)
}

func TestUnbindOnDisconnect(t *testing.T) {
	s := startServer(t, noTLS)
	c := dial(t, s.addr)
	j := c.login("alice", "PLAIN", "gone")
	c.raw.Close()
	if u := <-s.r.unbound; u.String() != j {
		t.Errorf("unbound %s", u)
	}
	waitFor(t, "connection closed", func() bool { return s.l.NumConns() == 0 })
}

func TestListenerCloseSendsSystemShutdown(t *testing.T) {
	s := startServer(t, noTLS)
	bound, fresh := dial(t, s.addr), dial(t, s.addr)
	bound.login("alice", "PLAIN", "")
	waitFor(t, "accept", func() bool { return s.l.NumConns() == 2 })
	done := make(chan error)
	go func() { done <- s.l.Close() }()
	bound.expectStreamError(SystemShutdown)
	fresh.expectStreamError(SystemShutdown)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
