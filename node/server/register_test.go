package server_test

import (
	"bufio"
	"errors"
	"maps"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/register"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// regServer serves, over plain TCP, one domain per mod_register variant:
// reg.example (the embedded default: ip_access allows 127.0.0.0/8, access
// "register" allows all, registration_timeout 600 s), ipdeny.example (ip_access
// denies 127.0.0.0/8), closed.example (the access rule denies), strong.example
// (password_strength 32) and noreg.example (no mod_register).
func regServer(t *testing.T) (addr, api string) {
	t.Helper()
	cfg := server.TestConfig(t.TempDir())
	variant := func(ht string, opts map[string]any) {
		mods := maps.Clone(cfg.Modules)
		if opts == nil {
			delete(mods, "mod_register")
		} else {
			mods["mod_register"] = config.Module{Name: "mod_register", Opts: opts}
		}
		cfg.General.HostTypes = append(cfg.General.HostTypes, ht)
		cfg.HostConfigs = append(cfg.HostConfigs, config.HostConfig{HostType: ht, Modules: mods})
	}
	variant("ipdeny", map[string]any{"ip_access": []any{
		map[string]any{"address": "127.0.0.0/8", "policy": "deny"},
		map[string]any{"address": "0.0.0.0/0", "policy": "allow"},
	}})
	cfg.Access = maps.Clone(cfg.Access)
	cfg.Access["closed_reg"] = []config.AccessClause{{ACL: "all", Value: "deny"}}
	variant("closed", map[string]any{"access": "closed_reg"})
	variant("strong", map[string]any{"password_strength": int64(32)})
	variant("noreg", nil)
	var s *server.Server
	s, api = serve(t, cfg)
	for domain, ht := range map[string]string{"reg.example": "basic", "ipdeny.example": "ipdeny",
		"closed.example": "closed", "strong.example": "strong", "noreg.example": "noreg"} {
		if code := rest(t, "PUT", api+"/domains/"+domain, `{"host_type":"`+ht+`"}`); code != 204 {
			t.Fatalf("add %s: %d", domain, code)
		}
	}
	return s.C2SAddrs()[0], api
}

// preAuth is a raw stream that has not authenticated, from a chosen loopback
// address (the rate limit is per address).
type preAuth struct {
	t        *testing.T
	conn     net.Conn
	p        *xmlstream.Parser
	features *xmlstream.Element
}

func openPreAuth(t *testing.T, addr, from, domain string) *preAuth {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	c := &preAuth{t: t, conn: conn, p: xmlstream.NewParser(bufio.NewReader(conn), xmlstream.Limits{})}
	if _, err := conn.Write([]byte(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='` + domain + `' version='1.0'>`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.p.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	c.features = c.next()
	return c
}

func (c *preAuth) next() *xmlstream.Element {
	c.t.Helper()
	el, err := c.p.Next()
	if err != nil {
		c.t.Fatal(err)
	}
	return el
}

// iq sends raw and returns the reply summarised as "result" or "error/<condition>".
func (c *preAuth) iq(raw string) (string, *xmlstream.Element) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(raw)); err != nil {
		c.t.Fatal(err)
	}
	el := c.next()
	if el.Local != "iq" {
		return el.Local, el
	}
	if el.Attr("type") != "error" {
		return el.Attr("type"), el
	}
	e := el.Child("jabber:client", "error")
	for _, k := range e.Elements() {
		if k.Space == "urn:ietf:params:xml:ns:xmpp-stanzas" && k.Local != "text" {
			return "error/" + k.Local, el
		}
	}
	return "error", el
}

func regIQ(user, pw string) string {
	return `<iq type='set' id='r'><query xmlns='jabber:iq:register'><username>` + user +
		`</username><password>` + pw + `</password></query></iq>`
}

func hasRegisterFeature(f *xmlstream.Element) bool {
	return f.Child(register.NSFeature, "register") != nil
}

// TestRegister shares one server among its parts (a server start costs a second);
// each part registers from its own loopback address.
func TestRegister(t *testing.T) {
	addr, _ := regServer(t)
	t.Run("EndToEnd", func(t *testing.T) { registerEndToEnd(t, addr) })
	t.Run("Refusals", func(t *testing.T) { registerRefusals(t, addr) })
	t.Run("PasswordChangeAndRemove", func(t *testing.T) { registerPasswordChangeAndRemove(t, addr) })
}

func registerEndToEnd(t *testing.T, addr string) {

	c := openPreAuth(t, addr, "127.0.0.2", "reg.example")
	if !hasRegisterFeature(c.features) {
		t.Fatalf("no register feature: %s", c.features)
	}
	got, el := c.iq(`<iq type='get' id='f'><query xmlns='jabber:iq:register'/></iq>`)
	q := el.Child(register.NS, "query")
	if got != "result" || q == nil || q.Child(register.NS, "username") == nil ||
		q.Child(register.NS, "password") == nil || q.Child(register.NS, "instructions") == nil {
		t.Fatalf("form: %s", el)
	}
	if got, el := c.iq(`<iq type='set' id='m'><query xmlns='jabber:iq:register'><username>x</username></query></iq>`); got != "error/not-acceptable" {
		t.Fatalf("missing password: %s", el)
	}
	if got, el := c.iq(regIQ("Alice", "s3cret")); got != "result" {
		t.Fatalf("register: %s", el)
	}
	// The account exists: PLAIN login with the prepared name works.
	alice, err := meshtest.Login(addr, "alice", "reg.example", "s3cret", "r")
	if err != nil {
		t.Fatalf("login after registration: %v", err)
	}
	defer alice.Close()

	// Another address: a taken name is a conflict, which does not use up the
	// address's one registration.
	c = openPreAuth(t, addr, "127.0.0.3", "reg.example")
	if got, el := c.iq(regIQ("alice", "other")); got != "error/conflict" {
		t.Fatalf("conflict: %s", el)
	}
	if got, el := c.iq(regIQ("bob", "pw")); got != "result" {
		t.Fatalf("register after a conflict: %s", el)
	}
	// registration_timeout (600 s by default): one account per address.
	if got, el := c.iq(regIQ("carol", "pw")); got != "error/resource-constraint" ||
		el.Child("jabber:client", "error").Attr("type") != "wait" {
		t.Fatalf("second registration from one address: %s", el)
	}
	if _, err := meshtest.Login(addr, "carol", "reg.example", "pw", "r"); !errors.Is(err, meshtest.ErrAuth) {
		t.Fatalf("carol exists: %v", err)
	}
	// Any other stanza before authentication is still refused.
	if got, _ := c.iq(`<iq type='get' id='v'><query xmlns='jabber:iq:version'/></iq>`); got != "error" {
		t.Fatalf("version before auth: %s", got)
	}
}

func registerRefusals(t *testing.T, addr string) {
	for _, tc := range []struct {
		domain, from, user, pw, want string
	}{
		{"ipdeny.example", "127.0.0.4", "u", "pw", "error/forbidden"},
		{"closed.example", "127.0.0.5", "u", "pw", "error/forbidden"},
		{"strong.example", "127.0.0.6", "u", "abcdef", "error/not-acceptable"}, // 6*log2(26) = 28 bits
		{"strong.example", "127.0.0.6", "u", "abcdefg", "result"},              // 7*log2(26) = 33 bits
	} {
		c := openPreAuth(t, addr, tc.from, tc.domain)
		got, el := c.iq(regIQ(tc.user, tc.pw))
		if got != tc.want {
			t.Errorf("%s %s/%s: %s", tc.domain, tc.user, tc.pw, el)
		}
		if tc.want == "error/not-acceptable" && !strings.Contains(el.String(), "The password is too weak") {
			t.Errorf("weak password text: %s", el)
		}
	}

	// Without mod_register: no feature, and the IQ ends the stream as before.
	c := openPreAuth(t, addr, "127.0.0.7", "noreg.example")
	if hasRegisterFeature(c.features) {
		t.Fatalf("feature without the module: %s", c.features)
	}
	got, el := c.iq(regIQ("u", "pw"))
	if got != "error" || el.Space != xmlstream.StreamsNamespace || el.Child("urn:ietf:params:xml:ns:xmpp-streams", "not-authorized") == nil {
		t.Fatalf("register without the module: %s", el)
	}
}

func registerPasswordChangeAndRemove(t *testing.T, addr string) {
	c := openPreAuth(t, addr, "127.0.0.8", "reg.example")
	if got, el := c.iq(regIQ("dave", "old")); got != "result" {
		t.Fatalf("register: %s", el)
	}
	dave, err := meshtest.Login(addr, "dave", "reg.example", "old", "r")
	if err != nil {
		t.Fatal(err)
	}
	defer dave.Close()
	send := func(raw, id string) *xmlstream.Element {
		t.Helper()
		if err := dave.Send(raw); err != nil {
			t.Fatal(err)
		}
		el, err := dave.Expect(meshtest.Timeout, meshtest.IQ(id))
		if err != nil {
			t.Fatal(err)
		}
		return el
	}
	if el := send(`<iq type='get' id='g'><query xmlns='jabber:iq:register'/></iq>`, "g"); el.Attr("type") != "result" ||
		el.Child(register.NS, "query").Child(register.NS, "registered") == nil ||
		el.Child(register.NS, "query").Child(register.NS, "username").Text() != "dave" {
		t.Fatalf("form when logged in: %s", el)
	}
	if el := send(`<iq type='set' id='p'><query xmlns='jabber:iq:register'><username>dave</username><password>new</password></query></iq>`, "p"); el.Attr("type") != "result" {
		t.Fatalf("password change: %s", el)
	}
	if _, err := meshtest.Login(addr, "dave", "reg.example", "old", "r2"); !errors.Is(err, meshtest.ErrAuth) {
		t.Fatalf("old password still works: %v", err)
	}
	other, err := meshtest.Login(addr, "dave", "reg.example", "new", "r2")
	if err != nil {
		t.Fatalf("new password: %v", err)
	}
	defer other.Close()

	if el := send(`<iq type='set' id='x'><query xmlns='jabber:iq:register'><remove/></query></iq>`, "x"); el.Attr("type") != "result" {
		t.Fatalf("remove: %s", el)
	}
	// Removal closes the account's sessions.
	for _, s := range []*meshtest.Client{dave, other} {
		select {
		case <-s.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("session of a removed account still open")
		}
	}
	if _, err := meshtest.Login(addr, "dave", "reg.example", "new", "r"); !errors.Is(err, meshtest.ErrAuth) {
		t.Fatalf("removed account logs in: %v", err)
	}
}
