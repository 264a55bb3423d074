package c2s

import (
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
)

func TestWrongPasswordThreeTimesCloses(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.addr)
	c.open(testDomain)
	c.startTLS(clientTLS(t))
	c.open(testDomain)
	for i := 1; i <= MaxAuthAttempts; i++ {
		var cond string
		if i == 2 {
			if el := c.authPlain("", "alice", "wrong"); el.Local != "failure" || el.Child(nsSASL, "not-authorized") == nil {
				t.Fatalf("attempt %d: %s", i, el)
			}
			continue
		}
		if cond = c.authSCRAM("SCRAM-SHA-256", "alice", "wrong"); cond != "not-authorized" {
			t.Fatalf("attempt %d: %q, want not-authorized", i, cond)
		}
	}
	c.expectStreamError(PolicyViolation)
}

func TestTwoFailuresThenSuccess(t *testing.T) {
	s := startServer(t, noTLS)
	c := dial(t, s.addr)
	c.open(testDomain)
	for range 2 {
		if cond := c.authSCRAM("SCRAM-SHA-1", "nobody", testPassword); cond != "not-authorized" {
			t.Fatalf("unknown user: %q", cond)
		}
	}
	if el := c.authPlain("", "alice", testPassword); el.Local != "success" {
		t.Fatalf("third attempt: %s", el)
	}
}

func TestPlainRefusedBeforeTLS(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.addr)
	if f := c.open(testDomain); hasFeature(f, "mech:PLAIN") {
		t.Fatalf("PLAIN offered in clear: %v", featureList(f))
	}
	el := c.authPlain("", "alice", testPassword)
	if el.Local != "failure" || el.Child(nsSASL, "encryption-required") == nil {
		t.Fatalf("PLAIN in clear answered %s", el)
	}
	// After STARTTLS it works.
	c.startTLS(clientTLS(t))
	if f := c.open(testDomain); !hasFeature(f, "mech:PLAIN") {
		t.Fatalf("PLAIN not offered over TLS: %v", featureList(f))
	}
	if el := c.authPlain("", "alice", testPassword); el.Local != "success" {
		t.Fatalf("PLAIN over TLS: %s", el)
	}
}

func TestPlainOnListenerWithoutTLS(t *testing.T) {
	s := startServer(t, noTLS)
	c := dial(t, s.addr)
	f := c.open(testDomain)
	if hasFeature(f, "starttls") || !hasFeature(f, "mech:PLAIN") || hasFeature(f, "mech:SCRAM-SHA-256-PLUS") {
		t.Fatalf("features without TLS %v", featureList(f))
	}
	// The authcid may also be the bare JID, and the authzid the account itself.
	if el := c.authPlain("alice@example.com", "alice@example.com", testPassword); el.Local != "success" {
		t.Fatalf("PLAIN: %s", el)
	}
	c.open(testDomain)
	if j := c.bind("laptop"); j != "alice@example.com/laptop" {
		t.Errorf("bound %s", j)
	}
}

func TestPlainUserInPlainFormat(t *testing.T) {
	s := startServer(t, noTLS)
	s.acc.set("carol", testDomain, scram.Credentials{Plain: "pässword"})
	c := dial(t, s.addr)
	c.open(testDomain)
	if el := c.authPlain("", "carol", "wrong"); el.Local != "failure" {
		t.Fatalf("wrong password: %s", el)
	}
	if el := c.authPlain("", "carol", "pässword"); el.Local != "success" {
		t.Fatalf("PLAIN: %s", el)
	}
	// And SCRAM for a plain-format user works too.
	c2 := dial(t, s.addr)
	c2.open(testDomain)
	if cond := c2.authSCRAM("SCRAM-SHA-256", "carol", "pässword"); cond != "" {
		t.Fatal(cond)
	}
}

func TestSASLFailureConditions(t *testing.T) {
	s := startServer(t, noTLS)
	tests := []struct {
		name, send, cond string
	}{
		{"bad base64", `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>!!!</auth>`, "incorrect-encoding"},
		{"unknown mechanism", `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>`, "invalid-mechanism"},
		{"response without auth", `<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>AAAA</response>`, "malformed-request"},
		{"abort", `<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`, "aborted"},
		{"PLAIN with two fields", `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>YWxpY2UAc2VjcmV0</auth>`, "malformed-request"},
		{"PLAIN other authzid", `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>Ym9iQGV4YW1wbGUuY29tAGFsaWNlAHNlY3JldA==</auth>`, "invalid-authzid"},
		{"PLAIN other domain", `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlQG90aGVyLmV4YW1wbGUAc2VjcmV0</auth>`, "not-authorized"},
		{"SCRAM garbage", `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>Z2FyYmFnZQ==</auth>`, "malformed-request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, s.addr)
			c.open(testDomain)
			c.send(tt.send)
			el := c.expect(nsSASL, "failure")
			if el.Child(nsSASL, tt.cond) == nil {
				t.Errorf("got %s, want %s", el, tt.cond)
			}
		})
	}
}

func TestSASLWithoutInitialResponse(t *testing.T) {
	s := startServer(t, noTLS)
	c := dial(t, s.addr)
	c.open(testDomain)
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'/>`)
	c.expect(nsSASL, "challenge")
	c.send(`<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>AGFsaWNlAHNlY3JldA==</response>`)
	c.expect(nsSASL, "success")
}

func TestStanzaBeforeAuthentication(t *testing.T) {
	s := startServer(t, noTLS)
	c := dial(t, s.addr)
	c.open(testDomain)
	c.send(`<message to='bob@example.com'><body>hi</body></message>`)
	c.expectStreamError(NotAuthorized)
	if s.r.count() != 0 || len(s.r.routed) != 0 {
		t.Error("an unauthenticated stanza reached the router")
	}
}

func TestStanzaBeforeBind(t *testing.T) {
	s := startServer(t, noTLS)
	c := dial(t, s.addr)
	c.open(testDomain)
	c.authPlain("", "alice", testPassword)
	c.open(testDomain)
	c.send(`<presence/>`)
	c.expectStreamError(NotAuthorized)
}

func TestDomainMustStayAfterAuth(t *testing.T) {
	s := startServer(t, noTLS)
	s.dir.domains["other.example"] = testHostType
	c := dial(t, s.addr)
	c.open(testDomain)
	c.authPlain("", "alice", testPassword)
	c.restart("other.example")
	c.expectStreamError(HostUnknown)
}

func TestDomainDisabledBeforeRestart(t *testing.T) {
	s := startServer(t, noTLS)
	c := dial(t, s.addr)
	c.open(testDomain)
	c.authPlain("", "alice", testPassword)
	s.dir.disable(testDomain)
	c.restart(testDomain)
	c.expectStreamError(HostUnknown)
}
