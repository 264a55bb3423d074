package c2s

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// keeperHooks adds the stream management hooks (module.SessionKeeper) to fakeHooks:
// every lost connection is kept, and <resume xmlns='urn:test:keep'/> takes over the
// last kept session.
type keeperHooks struct {
	*fakeHooks
	kmu       sync.Mutex
	lost      []module.Session
	ends      []func()
	events    []string
	resumed   module.Session
	resumeErr error
}

func (h *keeperHooks) UserSend(s module.Session, el *xmlstream.Element) bool {
	h.kmu.Lock()
	h.events = append(h.events, "send "+el.Attr("id"))
	h.kmu.Unlock()
	return h.fakeHooks.UserSend(s, el)
}

func (h *keeperHooks) ConnectionLost(s module.Session, end func()) bool {
	h.kmu.Lock()
	defer h.kmu.Unlock()
	h.lost, h.ends = append(h.lost, s), append(h.ends, end)
	return true
}

func (h *keeperHooks) PreBindNonza(p module.PreBind, el *xmlstream.Element) (bool, error) {
	if el.Space != "urn:test:keep" {
		return false, nil
	}
	h.kmu.Lock()
	old := h.lost[len(h.lost)-1]
	h.kmu.Unlock()
	ns, err := p.Resume(old)
	h.kmu.Lock()
	h.resumed, h.resumeErr = ns, err
	h.kmu.Unlock()
	if err != nil {
		return true, p.Write(xmlstream.NewElement("urn:test:keep", "failed"))
	}
	return true, p.Write(xmlstream.NewElement("urn:test:keep", "resumed"))
}

func (h *keeperHooks) StanzaHandled(module.Session) {
	h.kmu.Lock()
	h.events = append(h.events, "handled")
	h.kmu.Unlock()
}

func (h *keeperHooks) lostCount() int {
	h.kmu.Lock()
	defer h.kmu.Unlock()
	return len(h.lost)
}

// TestKeeperCountsAfterSend: a stanza counts as handled only after the send chain
// returned and it was routed; non-stanzas do not count.
func TestKeeperCountsAfterSend(t *testing.T) {
	hooks := &keeperHooks{fakeHooks: newFakeHooks()}
	s := startServer(t, noTLS, func(c *Config) { c.Modules = hooks })
	c := dial(t, s.addr)
	c.login("alice", "PLAIN", "r1")
	c.send(`<message to='bob@example.com' id='m1'><body>x</body></message>`)
	c.send(`<r xmlns='urn:test:nonza'/>`)
	c.send(`<message to='bob@example.com' id='m2'><body>y</body></message>`)
	c.send(`<iq type='get' id='p1' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>`)
	c.expect(nsClient, "iq")
	waitFor(t, "two handled stanzas", func() bool {
		hooks.kmu.Lock()
		defer hooks.kmu.Unlock()
		return len(hooks.events) >= 6
	})
	hooks.kmu.Lock()
	got := hooks.events
	hooks.kmu.Unlock()
	want := []string{"send m1", "handled", "send m2", "handled", "send p1", "handled"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
}

// TestKeeperDetachAndResume: a session whose connection broke stays bound; a new
// stream of the same account takes it over with its values, without running the
// close or open hooks; the module's end is then a no-op. Another account cannot
// take it over.
func TestKeeperDetachAndResume(t *testing.T) {
	hooks := &keeperHooks{fakeHooks: newFakeHooks()}
	hooks.managed = false
	s := startServer(t, noTLS, func(c *Config) { c.Modules = hooks })
	c := dial(t, s.addr)
	full := c.login("alice", "PLAIN", "r1")
	old := hooks.session(t)
	old.SetValue("k", 1)
	_ = c.conn.Close()
	waitFor(t, "connection lost", func() bool { return hooks.lostCount() == 1 })
	if s.r.session(full) != old {
		t.Fatal("detached session unbound")
	}
	// Delivery to a detached session goes through the receive chain, then fails.
	if old.Deliver(routerMessage("d0", "")) {
		t.Error("delivered to a session without a connection")
	}

	b := dial(t, s.addr)
	b.open(testDomain)
	b.authPlain("", "bob", testPassword)
	b.open(testDomain)
	b.send(`<resume xmlns='urn:test:keep'/>`)
	b.expect("urn:test:keep", "failed")
	hooks.kmu.Lock()
	if !errors.Is(hooks.resumeErr, ErrNotResumable) {
		t.Errorf("bob resuming alice's session: %v", hooks.resumeErr)
	}
	hooks.kmu.Unlock()

	c2 := dial(t, s.addr)
	c2.open(testDomain)
	c2.authPlain("", "alice", testPassword)
	c2.open(testDomain)
	c2.send(`<resume xmlns='urn:test:keep'/>`)
	c2.expect("urn:test:keep", "resumed")
	hooks.kmu.Lock()
	ns, end := hooks.resumed, hooks.ends[0]
	hooks.kmu.Unlock()
	if ns == nil || ns == old || ns.JID().String() != full || ns.Value("k") != 1 {
		t.Fatalf("resumed session %v", ns)
	}
	if s.r.session(full) != ns {
		t.Fatal("the resumed stream is not the bound session")
	}
	end() // too late: a no-op
	old.Stop(Conflict, "")
	if s.r.session(full) != ns {
		t.Fatal("ending the old session unbound the new one")
	}
	ns.Deliver(routerMessage("d1", ""))
	if el := c2.expect(nsClient, "message"); el.Attr("id") != "d1" {
		t.Fatalf("received %s", el)
	}
	select {
	case cl := <-hooks.closed:
		t.Fatalf("close hook ran for a resumed session: %+v", cl)
	case <-time.After(50 * time.Millisecond):
	}
	hooks.mu.Lock()
	if len(hooks.opened) != 1 {
		t.Errorf("open hooks ran %d times", len(hooks.opened))
	}
	hooks.mu.Unlock()
}

// TestKeeperEnd: the module's end unbinds a detached session and runs the close
// hooks, once.
func TestKeeperEnd(t *testing.T) {
	hooks := &keeperHooks{fakeHooks: newFakeHooks()}
	s := startServer(t, noTLS, func(c *Config) { c.Modules = hooks })
	c := dial(t, s.addr)
	full := c.login("alice", "PLAIN", "r1")
	_ = c.conn.Close()
	waitFor(t, "connection lost", func() bool { return hooks.lostCount() == 1 })
	hooks.kmu.Lock()
	end := hooks.ends[0]
	hooks.kmu.Unlock()
	end()
	end()
	if s.r.session(full) != nil {
		t.Error("still bound after end")
	}
	select {
	case <-hooks.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("close hook not called")
	}
	select {
	case <-hooks.closed:
		t.Fatal("close hook called twice")
	case <-time.After(50 * time.Millisecond):
	}
}
