package c2s

import (
	"crypto/tls"
	"slices"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/sasl"
)

func directTLS(c *Config) { c.TLSMode = TLSDirect }

func TestDirectTLS(t *testing.T) {
	s := startServer(t, directTLS)
	cfg := clientTLS(t)
	cfg.NextProtos = []string{"xmpp-client"}
	conn, err := tls.Dial("tcp", s.addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if p := conn.ConnectionState().NegotiatedProtocol; p != "xmpp-client" {
		t.Errorf("ALPN %q", p)
	}
	c := newRawClient(t, conn)
	f := c.open(testDomain)
	if hasFeature(f, "starttls") || !hasFeature(f, "mech:SCRAM-SHA-256-PLUS") || !hasFeature(f, "mech:PLAIN") {
		t.Fatalf("direct TLS features %v", featureList(f))
	}
	if cond := c.authSCRAM("SCRAM-SHA-256-PLUS", "alice", testPassword); cond != "" {
		t.Fatal(cond)
	}
	c.open(testDomain)
	c.bind("direct")
}

func TestDirectTLSHandshakeFailure(t *testing.T) {
	s := startServer(t, directTLS)
	c := dial(t, s.addr)
	c.send(header(testDomain)) // plaintext on a TLS port
	c.expectEOF()
	waitFor(t, "connection dropped", func() bool { return s.l.NumConns() == 0 })
}

func TestChannelBindingTLS12(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.addr)
	c.open(testDomain)
	cfg := clientTLS(t)
	cfg.MaxVersion = tls.VersionTLS12
	c.startTLS(cfg)
	f := c.open(testDomain)
	cb := f.Child(nsSASLCB, "sasl-channel-binding").Child(nsSASLCB, "channel-binding")
	if cb == nil || cb.Attr("type") != "tls-server-end-point" {
		t.Fatalf("XEP-0440 on TLS 1.2: %s", f)
	}
	if cond := c.authSCRAM("SCRAM-SHA-512-PLUS", "alice", testPassword); cond != "" {
		t.Fatal(cond)
	}
}

func TestChannelBindingMismatch(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct {
		name string
		gs2  string
		data []byte
	}{
		{"wrong data", "", []byte("not the binding")},
		{"downgrade", "y,,", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, s.addr)
			c.open(testDomain)
			c.startTLS(clientTLS(t))
			c.open(testDomain)
			mech := "SCRAM-SHA-256-PLUS"
			if tc.gs2 != "" {
				mech = "SCRAM-SHA-256"
			}
			sc, err := newSCRAMClient(mech, "alice", testPassword, c.clientBinding())
			if err != nil {
				t.Fatal(err)
			}
			if tc.gs2 != "" {
				sc.gs2 = tc.gs2
			}
			if tc.data != nil {
				sc.cbData = tc.data
			}
			c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='` + mech + `'>` + sasl.EncodePayload(sc.first()) + `</auth>`)
			el, err := c.next()
			if err != nil {
				t.Fatal(err)
			}
			if el.Local == "challenge" {
				data, _ := sasl.DecodePayload(el.Text())
				final, err := sc.final(data)
				if err != nil {
					t.Fatal(err)
				}
				c.send(`<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>` + sasl.EncodePayload(final) + `</response>`)
				el = c.expect(nsSASL, "failure")
			}
			if el.Local != "failure" || el.Child(nsSASL, "not-authorized") == nil {
				t.Errorf("got %s", el)
			}
		})
	}
}

func TestStartTLSCommandInjection(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.addr)
	c.open(testDomain)
	c.send(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>`)
	c.expectStreamError(PolicyViolation)
	// Trailing whitespace alone is a keep-alive and does not matter.
	c = dial(t, s.addr)
	c.open(testDomain)
	c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>  \n")
	c.expect(nsTLS, "proceed")
}

func TestStartTLSRequired(t *testing.T) {
	s := startServer(t, func(c *Config) { c.TLSMode = TLSStartTLSRequired })
	c := dial(t, s.addr)
	f := c.open(testDomain)
	if got := featureList(f); !slices.Equal(got, []string{"starttls"}) || f.Child(nsTLS, "starttls").Child(nsTLS, "required") == nil {
		t.Fatalf("features %s", f)
	}
	el := c.authPlain("", "alice", testPassword)
	if el.Local != "failure" || el.Child(nsSASL, "encryption-required") == nil {
		t.Fatalf("auth before TLS: %s", el)
	}
	c.send(`<message to='bob@example.com'/>`)
	c.expectStreamError(NotAuthorized)

	c = dial(t, s.addr)
	c.open(testDomain)
	c.send(`<foo xmlns='urn:bar'/>`)
	c.expectStreamError(PolicyViolation)

	c = dial(t, s.addr)
	c.login("alice", "SCRAM-SHA-1-PLUS", "secure")
}

func TestStartTLSWithoutTLS(t *testing.T) {
	s := startServer(t, noTLS)
	c := dial(t, s.addr)
	c.open(testDomain)
	c.send(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`)
	c.expect(nsTLS, "failure")
	c.expectClosed()
}

func TestStartTLSTwice(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.addr)
	c.open(testDomain)
	c.startTLS(clientTLS(t))
	c.open(testDomain)
	c.send(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`)
	c.expect(nsTLS, "failure")
	c.expectClosed()
}

func TestConfigErrors(t *testing.T) {
	d, a, r := newDirectory(), newAccounts(), newRouter()
	for name, cfg := range map[string]Config{
		"no router":       {Addr: "127.0.0.1:0", Directory: d, Accounts: a},
		"tls without cfg": {Addr: "127.0.0.1:0", Directory: d, Accounts: a, Router: r, TLSMode: TLSStartTLS},
		"tls without cert": {Addr: "127.0.0.1:0", Directory: d, Accounts: a, Router: r, TLSMode: TLSDirect,
			TLS: &tls.Config{}},
	} {
		if l, err := Listen(cfg); err == nil {
			l.Close()
			t.Errorf("%s: no error", name)
		}
	}
	for in, want := range map[string]TLSMode{"": TLSStartTLS, "starttls": TLSStartTLS, "starttls_required": TLSStartTLSRequired, "tls": TLSDirect} {
		if got, err := ParseTLSMode(in); err != nil || got != want {
			t.Errorf("ParseTLSMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseTLSMode("ssl"); err == nil {
		t.Error("ParseTLSMode accepted ssl")
	}
}
