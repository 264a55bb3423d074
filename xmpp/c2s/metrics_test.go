package c2s

import (
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/metrics"
)

// TestMetrics: connections accepted and open, failed and successful SASL, stanzas
// in and out of a bound session, all under the stream's host type.
func TestMetrics(t *testing.T) {
	ms := metrics.New()
	s := startServer(t, noTLS, func(c *Config) { c.Metrics = ms })

	bad := dial(t, s.addr)
	bad.open(testDomain)
	if el := bad.authPlain("", "alice", "wrong"); el.Local != "failure" {
		t.Fatalf("wrong password: %s", el)
	}
	c := dial(t, s.addr)
	c.login("alice", "PLAIN", "r")
	// The RFC 3921 session IQ is answered by c2s itself: one stanza each way.
	c.send(`<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`)
	c.expect(nsClient, "iq")

	ht := testHostType
	if n := ms.AuthFailed.For(ht).Value(); n != 1 {
		t.Errorf("auth failed %d, want 1", n)
	}
	if n := ms.AuthSucceeded.For(ht).Value(); n != 1 {
		t.Errorf("auth succeeded %d, want 1", n)
	}
	if in, out := ms.ElementsIn.For(ht).Value(), ms.ElementsOut.For(ht).Value(); in != 1 || out != 1 {
		t.Errorf("stanzas in %d out %d, want 1 and 1", in, out)
	}
	if n := ms.ConnsAccepted.Value(); n != 2 {
		t.Errorf("accepted %d, want 2", n)
	}
	if n := ms.ConnsOpen.Value(); n != 2 {
		t.Errorf("open %d, want 2", n)
	}
	bad.raw.Close()
	waitFor(t, "the closed connection to be gone", func() bool { return ms.ConnsOpen.Value() == 1 })
}
