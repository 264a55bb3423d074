package c2s

import (
	"sync"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// preAuthHooks adds a pre-auth feature and an IQ hook for namespace urn:test:reg,
// as mod_register does for jabber:iq:register.
type preAuthHooks struct {
	*fakeHooks
	mu   sync.Mutex
	seen []module.PreAuthStream
}

func (h *preAuthHooks) StreamFeatures(hostType string, stage module.Stage) []*xmlstream.Element {
	if stage == module.StagePreAuth {
		return []*xmlstream.Element{xmlstream.NewElement("urn:test:reg-feature", "reg")}
	}
	return h.fakeHooks.StreamFeatures(hostType, stage)
}

func (h *preAuthHooks) PreAuthIQ(st module.PreAuthStream, el *xmlstream.Element) (*xmlstream.Element, bool) {
	kids := el.Elements()
	if len(kids) != 1 || kids[0].Space != "urn:test:reg" {
		return nil, false
	}
	h.mu.Lock()
	h.seen = append(h.seen, st)
	h.mu.Unlock()
	return stanza.Result(el, nil), true
}

const regIQ = `<iq type='get' id='q1' to='example.com'><query xmlns='urn:test:reg'/></iq>`

func TestPreAuthIQAfterTLSOnly(t *testing.T) {
	hooks := &preAuthHooks{fakeHooks: newFakeHooks()}
	s := startServer(t, func(c *Config) { c.Modules = hooks })

	// Before TLS on a TLS listener: neither the feature nor the IQ.
	c := dial(t, s.addr)
	if f := c.open(testDomain); hasFeature(f, "reg") {
		t.Fatalf("pre-auth module feature before TLS: %v", featureList(f))
	}
	c.send(regIQ)
	c.expectStreamError(NotAuthorized)

	// After TLS: offered and answered, without a 'to'; other IQs are still refused.
	c = dial(t, s.addr)
	c.open(testDomain)
	c.startTLS(clientTLS(t))
	if f := c.open(testDomain); !hasFeature(f, "reg") || !hasFeature(f, "mechanisms") {
		t.Fatalf("features after TLS: %v", featureList(f))
	}
	c.send(regIQ)
	el := c.expect(nsClient, "iq")
	if el.Attr("type") != "result" || el.Attr("id") != "q1" || el.Attr("to") != "" {
		t.Fatalf("reply %s", el)
	}
	hooks.mu.Lock()
	if len(hooks.seen) != 1 || hooks.seen[0].Domain != testDomain || hooks.seen[0].HostType != testHostType || hooks.seen[0].RemoteAddr == nil {
		t.Errorf("hook saw %+v", hooks.seen)
	}
	hooks.mu.Unlock()
	// The stream can still authenticate afterwards.
	if el := c.authPlain("", "alice", testPassword); el.Local != "success" {
		t.Fatalf("auth after a pre-auth IQ: %s", el)
	}
}

func TestPreAuthIQOthersRefused(t *testing.T) {
	hooks := &preAuthHooks{fakeHooks: newFakeHooks()}
	s := startServer(t, noTLS, func(c *Config) { c.Modules = hooks })
	c := dial(t, s.addr)
	if f := c.open(testDomain); !hasFeature(f, "reg") {
		t.Fatalf("features without TLS: %v", featureList(f))
	}
	c.send(regIQ)
	c.expect(nsClient, "iq")
	c.send(`<iq type='get' id='v'><query xmlns='jabber:iq:version'/></iq>`)
	c.expectStreamError(NotAuthorized)

	// Without a PreAuthIQHandler (plain ConnHooks) nothing changes.
	s = startServer(t, noTLS, func(c *Config) { c.Modules = newFakeHooks() })
	c = dial(t, s.addr)
	c.open(testDomain)
	c.send(regIQ)
	c.expectStreamError(NotAuthorized)
}
