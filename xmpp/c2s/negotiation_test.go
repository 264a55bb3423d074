package c2s

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func TestHeaderAndFeaturesInOneWrite(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.addr)
	// A client-supplied id must be ignored.
	c.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' id='client-chosen' from='alice@example.com'>`)
	c.raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64<<10)
	n, err := c.raw.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	got := string(buf[:n])
	mustContain(t, got, "<stream:stream", "</stream:features>", `from="example.com"`, `version="1.0"`,
		`to="alice@example.com"`, `<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>`)
	if strings.Contains(got, "client-chosen") {
		t.Errorf("server echoed the client's stream id: %s", got)
	}
}

func TestFeaturesByStage(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.addr)
	f := c.open(testDomain)
	want := []string{"starttls", "mechanisms",
		"mech:SCRAM-SHA-512", "mech:SCRAM-SHA-384", "mech:SCRAM-SHA-256", "mech:SCRAM-SHA-224", "mech:SCRAM-SHA-1"}
	if got := featureList(f); !slices.Equal(got, want) {
		t.Errorf("plaintext features %v, want %v (no PLAIN, no -PLUS before TLS)", got, want)
	}
	c.startTLS(clientTLS(t))
	f = c.open(testDomain)
	want = []string{"mechanisms",
		"mech:SCRAM-SHA-512-PLUS", "mech:SCRAM-SHA-512", "mech:SCRAM-SHA-384-PLUS", "mech:SCRAM-SHA-384",
		"mech:SCRAM-SHA-256-PLUS", "mech:SCRAM-SHA-256", "mech:SCRAM-SHA-224-PLUS", "mech:SCRAM-SHA-224",
		"mech:SCRAM-SHA-1-PLUS", "mech:SCRAM-SHA-1", "mech:PLAIN", "sasl-channel-binding"}
	if got := featureList(f); !slices.Equal(got, want) {
		t.Errorf("TLS features %v, want %v", got, want)
	}
	cb := f.Child(nsSASLCB, "sasl-channel-binding").Child(nsSASLCB, "channel-binding")
	if cb == nil || cb.Attr("type") != "tls-exporter" {
		t.Errorf("XEP-0440 binding %v, want tls-exporter on TLS 1.3", f)
	}
	if cond := c.authSCRAM("SCRAM-SHA-256", "alice", testPassword); cond != "" {
		t.Fatal(cond)
	}
	f = c.open(testDomain)
	if got := featureList(f); !slices.Equal(got, []string{"bind", "session"}) {
		t.Errorf("post-auth features %v", got)
	}
	if f.Child(nsSession, "session").Child(nsSession, "optional") == nil {
		t.Errorf("session feature not optional: %s", f)
	}
}

func TestMechanismsFromConfig(t *testing.T) {
	s := startServer(t, noTLS, func(c *Config) {
		c.Mechanisms = func(hostType string) []string {
			if hostType != testHostType {
				t.Errorf("Mechanisms(%q)", hostType)
			}
			return []string{"scram_sha256_plus", "scram_sha1", "plain", "anonymous", "oauth"}
		}
	})
	c := dial(t, s.addr)
	f := c.open(testDomain)
	want := []string{"mechanisms", "mech:SCRAM-SHA-1", "mech:PLAIN"}
	if got := featureList(f); !slices.Equal(got, want) {
		t.Errorf("features %v, want %v", got, want)
	}
	// A mechanism not on offer is refused.
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-512'>biws</auth>`)
	if el := c.expect(nsSASL, "failure"); el.Child(nsSASL, "invalid-mechanism") == nil {
		t.Errorf("got %s", el)
	}
	if cond := c.authSCRAM("SCRAM-SHA-1", "alice", testPassword); cond != "" {
		t.Fatal(cond)
	}
}

func TestMechanismName(t *testing.T) {
	for in, want := range map[string]string{
		"scram_sha1": "SCRAM-SHA-1", "scram_sha224": "SCRAM-SHA-224", "scram_sha256_plus": "SCRAM-SHA-256-PLUS",
		"scram_sha512_plus": "SCRAM-SHA-512-PLUS", "plain": "PLAIN", "PLAIN": "PLAIN", "SCRAM-SHA-384": "SCRAM-SHA-384",
		"anonymous": "", "oauth": "", "scram_sha": "", "scram_sha3": "", "digest": "", "scram_sha256_PLUS": "",
	} {
		got, ok := MechanismName(in)
		if got != want || ok != (want != "") {
			t.Errorf("MechanismName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestStreamHeaderErrors(t *testing.T) {
	const streams = `xmlns:stream='http://etherx.jabber.org/streams'`
	tests := []struct {
		name, header string
		cond         xmlstream.Condition
		from         string
	}{
		{"no version", `<stream:stream xmlns='jabber:client' ` + streams + ` to='example.com'>`, UnsupportedVersion, "example.com"},
		{"version 0.9", `<stream:stream xmlns='jabber:client' ` + streams + ` to='example.com' version='0.9'>`, UnsupportedVersion, "example.com"},
		{"version 2.0", `<stream:stream xmlns='jabber:client' ` + streams + ` to='example.com' version='2.0'>`, UnsupportedVersion, "example.com"},
		{"server namespace", `<stream:stream xmlns='jabber:server' ` + streams + ` to='example.com' version='1.0'>`, xmlstream.InvalidNamespace, "example.com"},
		{"no content namespace", `<stream:stream ` + streams + ` to='example.com' version='1.0'>`, xmlstream.InvalidNamespace, "example.com"},
		{"wrong stream namespace", `<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong' to='example.com' version='1.0'>`, xmlstream.InvalidNamespace, "localhost"},
		{"no to", `<stream:stream xmlns='jabber:client' ` + streams + ` version='1.0'>`, HostUnknown, "localhost"},
		{"unknown domain", `<stream:stream xmlns='jabber:client' ` + streams + ` to='nowhere.example' version='1.0'>`, HostUnknown, "localhost"},
		{"invalid domain", `<stream:stream xmlns='jabber:client' ` + streams + ` to='a b' version='1.0'>`, HostUnknown, "localhost"},
		{"disabled domain", `<stream:stream xmlns='jabber:client' ` + streams + ` to='disabled.example' version='1.0'>`, HostUnknown, "localhost"},
		{"doctype", `<!DOCTYPE foo><stream:stream xmlns='jabber:client' ` + streams + ` to='example.com' version='1.0'>`, xmlstream.RestrictedXML, "localhost"},
		{"garbage", `hello`, xmlstream.NotWellFormed, "localhost"},
	}
	s := startServer(t)
	s.dir.domains["disabled.example"] = testHostType
	s.dir.disable("disabled.example")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, s.addr)
			c.send(tt.header)
			h := c.readHeader()
			if h.Attr("from") != tt.from || h.Attr("id") == "" || h.Attr("version") != "1.0" {
				t.Errorf("error header %v", h.Attrs)
			}
			c.expectStreamError(tt.cond)
		})
	}
}

func TestStreamRestartGivesNewID(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.addr)
	ids := map[string]bool{}
	c.open(testDomain)
	ids[c.hdr.Attr("id")] = true
	c.startTLS(clientTLS(t))
	c.open(testDomain)
	ids[c.hdr.Attr("id")] = true
	if cond := c.authSCRAM("SCRAM-SHA-256-PLUS", "alice", testPassword); cond != "" {
		t.Fatal(cond)
	}
	c.open(testDomain)
	ids[c.hdr.Attr("id")] = true
	if len(ids) != 3 || ids[""] {
		t.Errorf("stream ids %v, want three distinct", ids)
	}
}

func TestClientClosesStream(t *testing.T) {
	s := startServer(t, noTLS)
	c := dial(t, s.addr)
	c.login("alice", "PLAIN", "r1")
	c.send(`</stream:stream>`)
	c.expectClosed()
	if j := <-s.r.unbound; j.String() != "alice@example.com/r1" {
		t.Errorf("unbound %s", j)
	}
}

func TestSilentConnectionTimesOut(t *testing.T) {
	s := startServer(t, func(c *Config) { c.StateTimeout = 150 * time.Millisecond })
	c := dial(t, s.addr)
	c.expectStreamError(ConnectionTimeout)
	if got := c.hdr.Attr("from"); got != "localhost" {
		t.Errorf("from %q, want the default server domain", got)
	}
	// Also in the middle of negotiation.
	c = dial(t, s.addr)
	c.open(testDomain)
	c.expectStreamError(ConnectionTimeout)
}

func TestWhitespaceDoesNotExtendNegotiation(t *testing.T) {
	s := startServer(t, func(c *Config) { c.StateTimeout = 300 * time.Millisecond })
	c := dial(t, s.addr)
	c.open(testDomain)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.raw.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	c.expectStreamError(ConnectionTimeout)
}
