package module_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

const nsTest = "urn:test:echo"

// echo answers urn:test:echo IQs, advertises a feature, and logs every hook call.
type echo struct{ calls []string }

func (e *echo) log(s string) { e.calls = append(e.calls, s) }

func (e *echo) module(name string, prio int) module.Module {
	return module.Module{Name: name, Start: func(env *module.Env, opts module.Options) error {
		if opts.Bool("fail", false) {
			env.HandleIQ(nsTest+":fail", router.ToServer, func(context.Context, *router.IQ) *xmlstream.Element { return nil })
			env.AddFeature(router.ToServer, "urn:test:failed")
			return errors.New("bad options")
		}
		env.HandleIQ(nsTest, router.ToServer, func(_ context.Context, q *router.IQ) *xmlstream.Element {
			return q.Result(nil)
		})
		env.ManagePresence()
		env.AddFeature(router.ToServer, "urn:test:"+name)
		env.OnSessionOpened(func(s module.Session) { e.log(name + " opened " + s.JID().String()) })
		env.OnSessionClosed(func(s module.Session, c module.Close) {
			e.log(name + " closed replaced=" + map[bool]string{true: "yes", false: "no"}[c.Replaced])
		})
		env.OnUserSend(prio, func(s module.Session, el *xmlstream.Element) module.Verdict {
			e.log(name + " send")
			if el.Child("urn:test", "consume") != nil {
				return module.Stop
			}
			return module.Continue
		})
		env.OnUserReceive(prio, func(s module.Session, el *xmlstream.Element) *xmlstream.Element {
			e.log(name + " receive")
			if el.Child("urn:test", "drop") != nil {
				return nil
			}
			return el
		})
		env.OnIncoming(prio, func(from, to jid.JID, el *xmlstream.Element) (module.Verdict, *xmlstream.Element) {
			e.log(name + " incoming")
			if el.Child("urn:test", "block") != nil {
				return module.Stop, stanza.ErrorReply(el, stanza.NotAcceptable, "")
			}
			return module.Continue, nil
		})
		env.OnStreamFeatures(func(stage module.Stage) []*xmlstream.Element {
			if stage != module.StagePostAuth {
				return nil
			}
			return []*xmlstream.Element{xmlstream.NewElement("urn:test:feature", name)}
		})
		env.OnAvailability(func(s module.Session, before, after module.Availability) {
			e.log(name + " availability")
		})
		env.OnNonza("urn:test:nonza", func(s module.Session, el *xmlstream.Element) error {
			e.log(name + " nonza " + el.Local)
			return nil
		})
		env.OnStop(func() { e.log(name + " stop") })
		return nil
	}}
}

func setup(t *testing.T) (*moduletest.Harness, *echo) {
	t.Helper()
	h := moduletest.New(t, map[string]string{"on.com": "on", "off.com": "off"})
	h.AddUser("on.com", "u")
	h.AddUser("off.com", "u")
	e := &echo{}
	h.Start("on", e.module("mod_b", 60), nil)
	h.Start("on", e.module("mod_a", 40), nil)
	return h, e
}

func (e *echo) take() []string {
	c := e.calls
	e.calls = nil
	return c
}

func check(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

func TestHooksRunPerHostTypeInPriorityOrder(t *testing.T) {
	h, e := setup(t)
	on := h.Login("u@on.com/r")
	check(t, "open", e.take(), "mod_b opened u@on.com/r", "mod_a opened u@on.com/r")
	off := h.Login("u@off.com/r")
	check(t, "open on another host type", e.take())

	// The send chain runs by priority (mod_a 40 before mod_b 60), then the router's
	// filters (incoming) and delivery (receive).
	on.Send(`<message to='u@on.com/r'><body>x</body></message>`)
	check(t, "send", e.take(), "mod_a send", "mod_b send", "mod_a incoming", "mod_b incoming", "mod_a receive", "mod_b receive")
	if got := on.TakeSummaries(); len(got) != 1 {
		t.Fatalf("delivered %v", got)
	}
	on.Send(`<message to='u@on.com/r'><consume xmlns='urn:test'/></message>`)
	check(t, "consumed", e.take(), "mod_a send")
	on.Send(`<message to='u@on.com/r'><drop xmlns='urn:test'/></message>`)
	e.take()
	if got := on.TakeSummaries(); len(got) != 0 {
		t.Errorf("dropped stanza delivered: %v", got)
	}
	// An incoming hook that stops with a reply: the sender gets the reply.
	off.Send(`<message to='u@on.com/r'><block xmlns='urn:test'/></message>`)
	check(t, "blocked", e.take(), "mod_a incoming")
	check(t, "block reply", off.TakeSummaries(), "error message/not-acceptable")
	// Nothing runs for the other host type's own traffic.
	off.Send(`<message to='u@off.com/r'><body>y</body></message>`)
	check(t, "other host type", e.take())
	off.Take()

	// IQ handlers and disco features exist where the module runs only.
	for _, c := range []struct {
		s    *moduletest.Session
		to   string
		want string
	}{{on, "on.com", "iq/result"}, {off, "off.com", "error iq/service-unavailable"}} {
		c.s.Send(`<iq type='get' id='1' to='` + c.to + `'><q xmlns='` + nsTest + `'/></iq>`)
		check(t, "iq to "+c.to, c.s.TakeSummaries(), c.want)
	}
	e.take()
	if fs := features(t, on, "on.com"); !slices.Contains(fs, nsTest) || !slices.Contains(fs, "urn:test:mod_a") {
		t.Errorf("on.com features %v", fs)
	}
	if fs := features(t, off, "off.com"); slices.ContainsFunc(fs, func(f string) bool { return strings.HasPrefix(f, "urn:test") }) {
		t.Errorf("off.com features %v", fs)
	}
	e.take()

	if got := h.Host.StreamFeatures("on", module.StagePostAuth); len(got) != 2 || got[0].Local != "mod_b" {
		t.Errorf("stream features %v", got)
	}
	if got := h.Host.StreamFeatures("off", module.StagePostAuth); got != nil {
		t.Errorf("stream features of off %v", got)
	}
	if handled, err := h.Host.Nonza(on, xmlstream.NewElement("urn:test:nonza", "r")); !handled || err != nil {
		t.Errorf("nonza: %v %v", handled, err)
	}
	if handled, _ := h.Host.Nonza(on, xmlstream.NewElement("urn:other", "r")); handled {
		t.Error("unknown nonza handled")
	}
	check(t, "nonza", e.take(), "mod_a nonza r")
	if !h.Host.Enabled("on", "mod_a") || h.Host.Enabled("off", "mod_a") || !slices.Equal(h.Host.Modules("on"), []string{"mod_b", "mod_a"}) {
		t.Errorf("modules: %v", h.Host.Modules("on"))
	}

	// The module manages presence: sessions start unavailable. Availability hooks
	// run on changes only; close hooks in reverse order.
	if _, ok := on.Priority(); ok || !h.Host.ManagesPresence("on") || h.Host.ManagesPresence("off") {
		t.Error("presence management")
	}
	h.Host.SetPresence(on, xmlstream.NewElement(stanza.NSClient, "presence"), 1)
	h.Host.SetPresence(on, xmlstream.NewElement(stanza.NSClient, "presence"), 1)
	check(t, "availability", e.take(), "mod_b availability", "mod_a availability")
	if p, ok := on.Priority(); !ok || p != 1 {
		t.Errorf("priority %d %v", p, ok)
	}
	on.Logout(module.Close{Replaced: true})
	check(t, "close", e.take(), "mod_a closed replaced=yes", "mod_b closed replaced=yes")
	h.Host.Close()
	check(t, "stop", e.take(), "mod_a stop", "mod_b stop")
}

func features(t *testing.T, s *moduletest.Session, domain string) []string {
	t.Helper()
	s.Send(`<iq type='get' id='d' to='` + domain + `'><query xmlns='` + stanza.NSDiscoInf + `'/></iq>`)
	got := s.Take()
	if len(got) != 1 || got[0].Attr("type") != "result" {
		t.Fatalf("disco: %v", moduletest.Summaries(got))
	}
	var out []string
	for _, f := range got[0].Child(stanza.NSDiscoInf, "query").ChildrenNamed(stanza.NSDiscoInf, "feature") {
		out = append(out, f.Attr("var"))
	}
	return out
}

func TestStartErrors(t *testing.T) {
	h, e := setup(t)
	if err := h.Host.Start("on", e.module("mod_a", 1), nil); !errors.Is(err, module.ErrDuplicate) {
		t.Errorf("second start: %v", err)
	}
	// A failed start leaves nothing behind: its IQ handler and feature are gone.
	if err := h.Host.Start("off", e.module("mod_c", 1), moduletest.Options{"fail": true}); err == nil || !strings.Contains(err.Error(), "bad options") {
		t.Fatalf("failing start: %v", err)
	}
	s := h.Login("u@off.com/r")
	s.Send(`<iq type='get' id='1' to='off.com'><q xmlns='` + nsTest + `:fail'/></iq>`)
	check(t, "iq of a failed module", s.TakeSummaries(), "error iq/service-unavailable")
	if fs := features(t, s, "off.com"); slices.Contains(fs, "urn:test:failed") {
		t.Errorf("failed module's feature advertised: %v", fs)
	}
	if h.Host.Enabled("off", "mod_c") {
		t.Error("failed module enabled")
	}
	// Registering after Start is a programming error.
	var late *module.Env
	if err := h.Host.Start("off", module.Module{Name: "mod_late", Start: func(env *module.Env, _ module.Options) error {
		late = env
		return nil
	}}, nil); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("late registration did not panic")
			}
		}()
		late.OnUserSend(1, func(module.Session, *xmlstream.Element) module.Verdict { return module.Continue })
	}()
	h.Host.Close()
	if err := h.Host.Start("off", e.module("mod_d", 1), nil); !errors.Is(err, module.ErrClosed) {
		t.Errorf("start after close: %v", err)
	}
}

func TestPanickingHooksAreContained(t *testing.T) {
	h := moduletest.New(t, map[string]string{"on.com": "on"})
	h.AddUser("on.com", "u")
	h.Start("on", module.Module{Name: "mod_panic", Start: func(env *module.Env, _ module.Options) error {
		boom := func() { panic("boom") }
		env.OnUserSend(1, func(module.Session, *xmlstream.Element) module.Verdict { boom(); return module.Continue })
		env.OnUserReceive(1, func(module.Session, *xmlstream.Element) *xmlstream.Element { boom(); return nil })
		env.OnIncoming(1, func(jid.JID, jid.JID, *xmlstream.Element) (module.Verdict, *xmlstream.Element) {
			boom()
			return module.Continue, nil
		})
		env.OnSessionOpened(func(module.Session) { boom() })
		env.OnOffline(1, func(jid.JID, *xmlstream.Element) bool { boom(); return true })
		return nil
	}}, nil)
	s := h.Login("u@on.com/r")
	// A panicking send hook consumes; receive and incoming drop; offline stores
	// nothing. The process survives.
	s.Send(`<message to='u@on.com/r'/>`)
	if h.Host.UserReceive(s, xmlstream.NewElement(stanza.NSClient, "message")) != nil {
		t.Error("panicking receive hook let the stanza through")
	}
	if drop, _ := h.Host.Filter("on", s.JID(), s.JID(), xmlstream.NewElement(stanza.NSClient, "message")); !drop {
		t.Error("panicking incoming hook let the stanza through")
	}
	if h.Host.Offline("on", s.JID(), xmlstream.NewElement(stanza.NSClient, "message")) {
		t.Error("panicking offline hook stored")
	}
}

func TestReaddressSharesNothingMutable(t *testing.T) {
	el := xmlstream.NewElement(stanza.NSClient, "presence",
		xmlstream.Attr{Local: "from", Value: "a@x/r"}, xmlstream.Attr{Local: "id", Value: "1"})
	el.AddChild(xmlstream.NewElement(stanza.NSClient, "show"))
	el.Children = append(el.Children[:1:1], nil)[:1] // spare capacity in the original
	c := module.Readdress(el, "b@x/r", "c@x")
	if c.Attr("from") != "b@x/r" || c.Attr("to") != "c@x" || c.Attr("id") != "1" {
		t.Fatalf("readdressed %s", c)
	}
	c.SetAttr("type", "unavailable")
	c.AddChild(xmlstream.NewElement(stanza.NSClient, "status"))
	if el.Attr("type") != "" || len(el.Children) != 1 || cap(el.Children) < 2 || el.Children[:2][1] != nil {
		t.Errorf("original changed: %s", el)
	}
	if c2 := module.Readdress(el, "", ""); c2.Attr("from") != "" || c2.Attr("to") != "" {
		t.Errorf("addresses not removed: %s", c2)
	}
}
