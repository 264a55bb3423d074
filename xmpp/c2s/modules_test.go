package c2s

import (
	"sync"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// fakeHooks is a module.ConnHooks that records what c2s calls.
type fakeHooks struct {
	mu      sync.Mutex
	opened  []module.Session
	closed  chan module.Close
	sent    []string
	nonzas  []string
	managed bool
}

func newFakeHooks() *fakeHooks { return &fakeHooks{closed: make(chan module.Close, 4), managed: true} }

func (h *fakeHooks) ManagesPresence(string) bool { return h.managed }

func (h *fakeHooks) SessionOpened(s module.Session) {
	h.mu.Lock()
	h.opened = append(h.opened, s)
	h.mu.Unlock()
}

func (h *fakeHooks) SessionClosed(_ module.Session, c module.Close) { h.closed <- c }

func (h *fakeHooks) UserSend(_ module.Session, el *xmlstream.Element) bool {
	h.mu.Lock()
	h.sent = append(h.sent, el.Attr("from")+" "+el.Local)
	h.mu.Unlock()
	return el.Child("urn:test", "consume") != nil
}

func (h *fakeHooks) UserReceive(_ module.Session, el *xmlstream.Element) *xmlstream.Element {
	if el.Child("urn:test", "drop") != nil {
		return nil
	}
	return el
}

func (h *fakeHooks) StreamFeatures(hostType string, stage module.Stage) []*xmlstream.Element {
	if stage == module.StagePostAuth && hostType == testHostType {
		return []*xmlstream.Element{xmlstream.NewElement("urn:test:feature", "post")}
	}
	return nil
}

func (h *fakeHooks) Nonza(_ module.Session, el *xmlstream.Element) (bool, error) {
	if el.Space != "urn:test:nonza" {
		return false, nil
	}
	h.mu.Lock()
	h.nonzas = append(h.nonzas, el.Local)
	h.mu.Unlock()
	if el.Local == "fatal" {
		return true, streamErr(PolicyViolation, "")
	}
	return true, nil
}

// session returns the one session opened. The bind result may reach the client
// before the session-opened hooks have run, so it waits for them.
func (h *fakeHooks) session(t *testing.T) module.Session {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		n := len(h.opened)
		if n == 1 {
			defer h.mu.Unlock()
			return h.opened[0]
		}
		h.mu.Unlock()
		if n > 1 || time.Now().After(deadline) {
			t.Fatalf("%d sessions opened", n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestModuleHooks(t *testing.T) {
	hooks := newFakeHooks()
	s := startServer(t, noTLS, func(c *Config) { c.Modules = hooks })
	c := dial(t, s.addr)
	c.open(testDomain)
	if el := c.authPlain("", "alice", testPassword); el.Local != "success" {
		t.Fatalf("auth: %s", el)
	}
	f := c.open(testDomain)
	if !hasFeature(f, "post") || !hasFeature(f, "bind") {
		t.Fatalf("post-auth features %v", featureList(f))
	}
	full := c.bind("r1")
	sess := hooks.session(t)
	if sess.JID().String() != full {
		t.Fatalf("opened %s, bound %s", sess.JID(), full)
	}
	// With presence managed, a session is unavailable until presence is set.
	if _, ok := sess.Priority(); ok {
		t.Error("new session available")
	}
	pres := xmlstream.NewElement(nsClient, "presence")
	sess.SetPresence(pres, 7)
	if p, ok := sess.Priority(); !ok || p != 7 || sess.Presence() != pres {
		t.Errorf("after SetPresence: %d %v", p, ok)
	}
	sess.SetPresence(nil, 0)
	if _, ok := sess.Priority(); ok || sess.Presence() != nil {
		t.Error("still available after SetPresence(nil)")
	}
	sess.SetValue("k", 1)
	if sess.Value("k") != 1 {
		t.Error("per-session value lost")
	}
	sess.SetValue("k", nil)
	if sess.Value("k") != nil {
		t.Error("per-session value not deleted")
	}
	if sess.RemoteAddr() == nil {
		t.Error("no remote address")
	}

	// The send chain sees stamped stanzas and may consume them.
	c.send(`<message to='bob@example.com' id='m1'><consume xmlns='urn:test'/></message>`)
	c.send(`<message to='bob@example.com' id='m2'><body>x</body></message>`)
	select {
	case el := <-s.r.routed:
		if el.Attr("id") != "m2" {
			t.Fatalf("routed %s", el)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("message not routed")
	}
	hooks.mu.Lock()
	if len(hooks.sent) != 2 || hooks.sent[0] != full+" message" {
		t.Errorf("send hook saw %v", hooks.sent)
	}
	hooks.mu.Unlock()

	// The receive chain may drop what is delivered.
	sess.Deliver(routerMessage("d1", `<drop xmlns='urn:test'/>`))
	sess.Deliver(routerMessage("d2", ""))
	if el := c.expect(nsClient, "message"); el.Attr("id") != "d2" {
		t.Fatalf("received %s", el)
	}

	// Non-stanza elements go to the modules; one they do not take ends the stream.
	c.send(`<r xmlns='urn:test:nonza'/>`)
	c.send(`<iq type='get' id='p1' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if el := c.expect(nsClient, "iq"); el.Attr("id") != "p1" {
		t.Fatalf("after a nonza: %s", el)
	}
	c.send(`<fatal xmlns='urn:test:nonza'/>`)
	c.expectStreamError(PolicyViolation)
	select {
	case cl := <-hooks.closed:
		if cl.Replaced || cl.Condition != PolicyViolation {
			t.Errorf("close %+v", cl)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close hook not called")
	}
}

func TestModuleHooksSeeReplacement(t *testing.T) {
	hooks := newFakeHooks()
	hooks.managed = false
	s := startServer(t, noTLS, func(c *Config) { c.Modules = hooks })
	c := dial(t, s.addr)
	c.login("alice", "PLAIN", "r1")
	sess := hooks.session(t)
	if p, ok := sess.Priority(); !ok || p != 0 {
		t.Errorf("unmanaged session: %d %v", p, ok)
	}
	sess.Stop(Conflict, router.ReplacedText)
	c.expectStreamError(Conflict)
	select {
	case cl := <-hooks.closed:
		if !cl.Replaced {
			t.Errorf("close %+v, want replaced", cl)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close hook not called")
	}
}

func routerMessage(id, inner string) *xmlstream.Element {
	el := xmlstream.NewElement(stanza.NSClient, "message",
		xmlstream.Attr{Local: "id", Value: id}, xmlstream.Attr{Local: "to", Value: "alice@example.com/r1"})
	if inner != "" {
		el.AddChild(xmlstream.NewElement("urn:test", "drop"))
	}
	return el
}
