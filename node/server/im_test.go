package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"mellium.im/sasl"
	mxmlstream "mellium.im/xmlstream"
	"mellium.im/xmpp"
	mjid "mellium.im/xmpp/jid"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/router/routertest"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// imClient is a mellium session that hands every stanza it receives to the test,
// parsed by the server's own tokenizer, and sends raw XML.
type imClient struct {
	*xmpp.Session
	t  *testing.T
	in chan *xmlstream.Element
}

// imLogin logs a user in over STARTTLS with SCRAM-SHA-256. It sends nothing else:
// tests send presence themselves.
func imLogin(t *testing.T, addr, full, password string) *imClient {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := xmpp.NewClientSession(ctx, mjid.MustParse(full), raw,
		xmpp.StartTLS(&tls.Config{InsecureSkipVerify: true}),
		xmpp.SASL("", password, sasl.ScramSha256),
		xmpp.BindResource(),
	)
	if err != nil {
		t.Fatalf("login %s: %v", full, err)
	}
	c := &imClient{Session: sess, t: t, in: make(chan *xmlstream.Element, 256)}
	go sess.Serve(xmpp.HandlerFunc(func(r mxmlstream.TokenReadEncoder, start *xml.StartElement) error {
		var b bytes.Buffer
		enc := xml.NewEncoder(&b)
		if _, err := mxmlstream.Copy(enc, noXMLNS{mxmlstream.MultiReader(mxmlstream.Token(*start), r)}); err != nil {
			return err
		}
		if err := enc.Flush(); err != nil {
			return err
		}
		c.in <- routertest.Parse(t, b.String())
		return nil
	}))
	return c
}

// noXMLNS drops namespace declarations from start elements: encoding/xml writes
// them again from the element names, twice if they are also attributes.
type noXMLNS struct{ r xml.TokenReader }

func (n noXMLNS) Token() (xml.Token, error) {
	tok, err := n.r.Token()
	if se, ok := tok.(xml.StartElement); ok {
		se.Attr = slices.DeleteFunc(slices.Clone(se.Attr), func(a xml.Attr) bool {
			return a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns"
		})
		tok = se
	}
	return tok, err
}

// jid is the client's bound full JID (mellium does not ask for the origin's
// resource, so the server makes one up).
func (c *imClient) jid() string { return c.LocalAddr().String() }

func (c *imClient) send(raw string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := xml.NewDecoder(strings.NewReader(raw))
	if err := c.Send(ctx, d); err != nil && err != io.EOF {
		c.t.Fatalf("send %s: %v", raw, err)
	}
}

// expect reads len(want) stanzas and compares their summaries, in order.
func (c *imClient) expect(want ...string) {
	c.t.Helper()
	var got []string
	for range want {
		select {
		case el := <-c.in:
			got = append(got, moduletest.Summary(el))
		case <-time.After(5 * time.Second):
			c.t.Fatalf("%s got %q, waiting for %q", c.LocalAddr(), got, want)
		}
	}
	if !slices.Equal(got, want) {
		c.t.Fatalf("%s received:\n  %s\nwant:\n  %s", c.LocalAddr(), strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// expectFrom reads stanzas until one from the given address arrives.
func (c *imClient) expectFrom(from string) {
	c.t.Helper()
	for {
		select {
		case el := <-c.in:
			if el.Attr("from") == from {
				return
			}
		case <-time.After(5 * time.Second):
			c.t.Fatalf("%s: nothing from %s", c.LocalAddr(), from)
		}
	}
}

// drain discards what arrived until nothing more comes for a moment.
func (c *imClient) drain() {
	for {
		select {
		case <-c.in:
		case <-time.After(100 * time.Millisecond):
			return
		}
	}
}

// quiet checks that nothing more arrives for a moment: the only way to see that
// nothing is sent is to wait, so the wait is short and comes after an exchange that
// would have produced it.
func (c *imClient) quiet() {
	c.t.Helper()
	select {
	case el := <-c.in:
		c.t.Fatalf("%s received unexpected %s", c.LocalAddr(), moduletest.Summary(el))
	case <-time.After(100 * time.Millisecond):
	}
}

// online fetches the roster and sends initial presence, as a chat client does, and
// reads what that produces: the roster result and the user's own presence.
func (c *imClient) online(presence string) {
	c.t.Helper()
	c.send(`<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>`)
	c.expect("iq/result")
	c.send(presence)
}

func provision(t *testing.T, api string, domain string, users ...string) {
	t.Helper()
	if code := rest(t, "PUT", api+"/domains/"+domain, `{"host_type":"basic"}`); code/100 != 2 {
		t.Fatalf("add domain: %d", code)
	}
	for _, u := range users {
		if code := rest(t, "POST", api+"/users/"+domain, `{"username":"`+u+`","password":"pw"}`); code/100 != 2 {
			t.Fatalf("add user %s: %d", u, code)
		}
	}
}

func restBody(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestMutualSubscriptionEndToEnd: two real clients subscribe to each other (RFC 6121
// section 3.1) and each sees the roster pushes and presence of every step, then
// presence flows: probes answered at login and unavailable on disconnect.
func TestMutualSubscriptionEndToEnd(t *testing.T) {
	s, api := startTLS(t)
	addr := s.C2SAddrs()[0]
	provision(t, api, "im.example", "alice", "bob")
	alice := imLogin(t, addr, "alice@im.example", "pw")
	bob := imLogin(t, addr, "bob@im.example", "pw")
	a, b := alice.jid(), bob.jid()
	alice.online(`<presence/>`)
	alice.expect("presence/available " + a + ">alice@im.example")
	bob.online(`<presence><status>working</status></presence>`)
	bob.expect("presence/available " + b + ">bob@im.example [working]")

	alice.send(`<presence to='bob@im.example' type='subscribe'/>`)
	alice.expect("push bob@im.example none ask=subscribe")
	bob.expect("presence/subscribe alice@im.example>bob@im.example")

	bob.send(`<presence to='alice@im.example' type='subscribed'/>`)
	bob.expect("push alice@im.example from")
	alice.expect("push bob@im.example to", "presence/subscribed bob@im.example>alice@im.example",
		"presence/available "+b+">alice@im.example [working]")

	bob.send(`<presence to='alice@im.example' type='subscribe'/>`)
	bob.expect("push alice@im.example from ask=subscribe")
	alice.expect("presence/subscribe bob@im.example>alice@im.example")

	alice.send(`<presence to='bob@im.example' type='subscribed'/>`)
	alice.expect("push bob@im.example both")
	bob.expect("push alice@im.example both", "presence/subscribed alice@im.example>bob@im.example",
		"presence/available "+a+">bob@im.example")
	alice.quiet()
	bob.quiet()

	// The rosters as the admin API sees them.
	if code, body := restBody(t, "GET", api+"/contacts/alice@im.example", ""); code != 200 ||
		body != `[{"jid":"bob@im.example","subscription":"both","ask":"none"}]` {
		t.Errorf("alice's contacts: %d %s", code, body)
	}

	// Disconnecting sends unavailable presence to the subscribers; logging in again
	// probes bob, whose presence the server gives on his behalf.
	alice.Close()
	bob.expect("presence/unavailable " + a + ">bob@im.example")
	alice = imLogin(t, addr, "alice@im.example", "pw")
	a = alice.jid()
	alice.send(`<presence><priority>1</priority></presence>`)
	alice.expect("presence/available "+b+">"+a+" [working]", "presence/available "+a+">alice@im.example [1]")
	bob.expect("presence/available " + a + ">bob@im.example [1]")
}

// TestPriorityDeliveryEndToEnd: a message to the bare JID reaches only the available
// resource with the highest non-negative priority (RFC 6121 section 8.5.2.1.1).
func TestPriorityDeliveryEndToEnd(t *testing.T) {
	s, api := startTLS(t)
	addr := s.C2SAddrs()[0]
	provision(t, api, "prio.example", "alice", "bob")
	var bobs []*imClient
	for _, prio := range []string{"1", "5", "-1"} {
		c := imLogin(t, addr, "bob@prio.example", "pw")
		c.send(`<presence><priority>` + prio + `</priority></presence>`)
		c.expectFrom(c.jid())
		bobs = append(bobs, c)
	}
	low, high, neg := bobs[0], bobs[1], bobs[2]
	for _, c := range bobs {
		c.drain()
	}
	alice := imLogin(t, addr, "alice@prio.example", "pw")
	alice.send(`<message to='bob@prio.example' type='chat'><body>to the best</body></message>`)
	high.expect("message/chat " + alice.jid() + ">bob@prio.example to the best")
	alice.send(`<message to='` + low.jid() + `' type='chat'><body>direct</body></message>`)
	low.expect("message/chat " + alice.jid() + ">" + low.jid() + " direct")
	neg.quiet()
	low.quiet()
	high.quiet()
}

// TestContactsREST covers /contacts with MongooseIM's codes and messages.
func TestContactsREST(t *testing.T) {
	s, api := startTLS(t)
	provision(t, api, "rest.example", "alice", "bob")
	bob := imLogin(t, s.C2SAddrs()[0], "bob@rest.example", "pw")
	bob.online(`<presence/>`)
	bob.expect("presence/available " + bob.jid() + ">bob@rest.example")

	for _, c := range []struct {
		method, path, body string
		code               int
		resp               string
	}{
		{"GET", "/contacts/alice@rest.example", "", 200, `[]`},
		{"GET", "/contacts/alice@nowhere.example", "", 404, `"Domain not found"`},
		{"GET", "/contacts/a@b@c", "", 400, `"Invalid user JID"`},
		{"POST", "/contacts/alice@rest.example", `{}`, 400, `"Missing JID"`},
		{"POST", "/contacts/alice@rest.example", `{"jid":"x@y@z"}`, 400, `"Invalid JID"`},
		{"POST", "/contacts/alice@rest.example", `{"jid":"ghost@rest.example"}`, 404, `"The user ghost@rest.example does not exist"`},
		{"POST", "/contacts/alice@rest.example", `{"jid":"bob@rest.example"}`, 204, ``},
		{"PUT", "/contacts/alice@rest.example", `{"action":"subscribe"}`, 400, `"Missing contact JID"`},
		{"PUT", "/contacts/alice@rest.example/bob@rest.example", `{}`, 400, `"Missing action"`},
		{"PUT", "/contacts/alice@rest.example/bob@rest.example", `{"action":"connect"}`, 400, `"Invalid action"`},
		{"PUT", "/contacts/alice@rest.example/bob@rest.example", `{"action":"subscribe"}`, 204, ``},
		{"GET", "/contacts/alice@rest.example", "", 200, `[{"jid":"bob@rest.example","subscription":"none","ask":"out"}]`},
		{"GET", "/contacts/bob@rest.example", "", 200, `[{"jid":"alice@rest.example","subscription":"none","ask":"in"}]`},
		{"DELETE", "/contacts/alice@rest.example/carol@rest.example", "", 404, `"Cannot remove carol@rest.example contact that does not exist"`},
		{"DELETE", "/contacts/alice@rest.example", "", 400, `"Missing contact JID"`},
		{"PUT", "/contacts/alice@rest.example/bob@rest.example/manage", `{"action":"subscribe"}`, 400, `"Invalid action"`},
		{"PUT", "/contacts/alice@rest.example/bob@rest.example/manage", `{"action":"connect"}`, 204, ``},
		{"GET", "/contacts/bob@rest.example", "", 200, `[{"jid":"alice@rest.example","subscription":"both","ask":"none"}]`},
		{"PUT", "/contacts/alice@rest.example/bob@rest.example/manage", `{"action":"disconnect"}`, 204, ``},
		{"GET", "/contacts/alice@rest.example", "", 200, `[]`},
		{"GET", "/contacts/bob@rest.example", "", 200, `[]`},
	} {
		code, body := restBody(t, c.method, api+c.path, c.body)
		if code != c.code || body != c.resp {
			t.Errorf("%s %s %s: %d %s, want %d %s", c.method, c.path, c.body, code, body, c.code, c.resp)
		}
	}
	// Bob's client saw the request arrive, the roster change and go.
	bob.expect("presence/subscribe alice@rest.example>bob@rest.example")
}

// startCfg starts a server from a config, with STARTTLS on its c2s listener.
func startCfg(t *testing.T, cfg *config.Config) (*server.Server, string) {
	t.Helper()
	cfg.Listen.C2S[0].TLS = &config.TLSConfig{Mode: "starttls"}
	s := startServer(t, cfg)
	return s, "http://" + s.AdminAddrs()[0] + "/api"
}

// TestRosterSurvivesRestart: the roster, its pending request and the contact's
// pending inbound request are in the replicated store.
func TestRosterSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s, api := startCfg(t, server.TestConfig(dir))
	provision(t, api, "keep.example", "alice", "bob")
	alice := imLogin(t, s.C2SAddrs()[0], "alice@keep.example", "pw")
	alice.online(`<presence/>`)
	alice.expect("presence/available " + alice.jid() + ">alice@keep.example")
	alice.send(`<iq type='set' id='s'><query xmlns='jabber:iq:roster'><item jid='bob@keep.example' name='Bob'><group>Friends</group></item></query></iq>`)
	alice.expect("push bob@keep.example none name=Bob groups=Friends", "iq/result")
	alice.send(`<presence to='bob@keep.example' type='subscribe'/>`)
	alice.expect("push bob@keep.example none ask=subscribe name=Bob groups=Friends")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, _ = startCfg(t, server.TestConfig(dir))
	defer s.Close()
	alice = imLogin(t, s.C2SAddrs()[0], "alice@keep.example", "pw")
	alice.send(`<iq type='get' id='g'><query xmlns='jabber:iq:roster'/></iq>`)
	select {
	case el := <-alice.in:
		push := el.Clone()
		push.SetAttr("type", "set")
		if got := moduletest.Summary(push); got != "push bob@keep.example none ask=subscribe name=Bob groups=Friends" {
			t.Errorf("roster after restart: %s", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no roster")
	}
	// Bob was never online: his pending request waited through the restart.
	bob := imLogin(t, s.C2SAddrs()[0], "bob@keep.example", "pw")
	bob.send(`<presence/>`)
	bob.expect("presence/subscribe alice@keep.example>bob@keep.example", "presence/available "+bob.jid()+">bob@keep.example")
}

// TestModulesPerHostType: a host type whose [[host_config]] leaves mod_roster and
// mod_presence out neither advertises nor serves them.
func TestModulesPerHostType(t *testing.T) {
	cfg := server.TestConfig(t.TempDir())
	cfg.General.HostTypes = append(cfg.General.HostTypes, "bare")
	cfg.HostConfigs = append(cfg.HostConfigs, config.HostConfig{
		HostType: "bare",
		Modules:  map[string]config.Module{"mod_disco": {Name: "mod_disco"}},
	})
	s, api := startCfg(t, cfg)
	defer s.Close()
	provision(t, api, "full.example", "u")
	if code := rest(t, "PUT", api+"/domains/bare.example", `{"host_type":"bare"}`); code != 204 {
		t.Fatalf("add domain: %d", code)
	}
	if code := rest(t, "POST", api+"/users/bare.example", `{"username":"u","password":"pw"}`); code != 201 {
		t.Fatalf("add user: %d", code)
	}
	features := func(c *imClient, domain string) []string {
		c.send(`<iq type='get' id='d' to='` + domain + `'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
		var out []string
		select {
		case el := <-c.in:
			for _, f := range el.Child("http://jabber.org/protocol/disco#info", "query").ChildrenNamed("http://jabber.org/protocol/disco#info", "feature") {
				out = append(out, f.Attr("var"))
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no disco#info")
		}
		return out
	}
	full := imLogin(t, s.C2SAddrs()[0], "u@full.example", "pw")
	if fs := features(full, "full.example"); !slices.Contains(fs, "jabber:iq:roster") {
		t.Errorf("full.example features %v", fs)
	}
	bare := imLogin(t, s.C2SAddrs()[0], "u@bare.example", "pw")
	if fs := features(bare, "bare.example"); slices.Contains(fs, "jabber:iq:roster") {
		t.Errorf("bare.example features %v", fs)
	}
	bare.send(`<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>`)
	bare.expect("error iq/service-unavailable")
	// Without mod_presence a session takes bare-JID messages without presence.
	full.send(`<message to='u@bare.example'><body>hi</body></message>`)
	bare.expect("message/normal " + full.jid() + ">u@bare.example hi")
}

// TestRemovalsPurgeRosters: removing an account empties its roster and cancels its
// contacts' subscriptions; removing a domain deletes every roster of it.
func TestRemovalsPurgeRosters(t *testing.T) {
	s, api := startTLS(t)
	provision(t, api, "gone.example", "alice", "bob", "carol")
	for _, pair := range [][2]string{{"alice", "bob"}, {"bob", "carol"}} {
		path := "/contacts/" + pair[0] + "@gone.example/" + pair[1] + "@gone.example/manage"
		if code, body := restBody(t, "PUT", api+path, `{"action":"connect"}`); code != 204 {
			t.Fatalf("connect %v: %d %s", pair, code, body)
		}
	}
	if code := rest(t, "DELETE", api+"/users/gone.example/alice", ""); code != 204 {
		t.Fatalf("remove alice: %d", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body := restBody(t, "GET", api+"/contacts/bob@gone.example", "")
		// Bob keeps alice listed, with the subscriptions gone (RFC 6121 3.2, 3.3).
		if body == `[{"jid":"alice@gone.example","subscription":"none","ask":"none"},{"jid":"carol@gone.example","subscription":"both","ask":"none"}]` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob's contacts after alice's removal: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, body := restBody(t, "GET", api+"/contacts/alice@gone.example", ""); body != `[]` {
		t.Errorf("alice's roster survived her: %s", body)
	}

	if code := rest(t, "DELETE", api+"/domains/gone.example", `{"host_type":"basic"}`); code != 204 {
		t.Fatalf("remove domain: %d", code)
	}
	err := s.Node.View(func(tx *bolt.Tx) error {
		if store.HasDomainData(tx, "gone.example") {
			t.Error("domain data left after removal")
		}
		return store.ForEachRosterItem(tx, "gone.example", "bob", func(it store.RosterItem) error {
			t.Errorf("bob's item %s survived the domain", it.Contact)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}
