package server_test

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"maps"
	"net"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/sm"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// smClient is a raw client that stops after SASL, so that a test decides between
// bind and <resume/>, and sees every element the server sends, in order.
type smClient struct {
	t    *testing.T
	conn net.Conn
	in   chan *xmlstream.Element
	feat *xmlstream.Element // the features after SASL
}

const smWait = 5 * time.Second

func smAuth(t *testing.T, addr, user, domain string) *smClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, smWait)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(smWait))
	br := bufio.NewReader(conn)
	p := xmlstream.NewParser(br, xmlstream.Limits{MaxStanzaSize: 1 << 20})
	hdr := `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='` + domain + `' version='1.0'>`
	open := func() *xmlstream.Element {
		if _, err := conn.Write([]byte(hdr)); err != nil {
			t.Fatal(err)
		}
		if _, err := p.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		f, err := p.Next()
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	open()
	cred := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00pw"))
	_, _ = conn.Write([]byte(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` + cred + `</auth>`))
	if el, err := p.Next(); err != nil || el.Local != "success" {
		t.Fatalf("auth: %v %v", el, err)
	}
	p.Reset(br)
	c := &smClient{t: t, conn: conn, in: make(chan *xmlstream.Element, 256), feat: open()}
	_ = conn.SetDeadline(time.Time{})
	go func() {
		defer close(c.in)
		for {
			el, err := p.Next()
			if err != nil {
				return
			}
			c.in <- el
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *smClient) send(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next element the server sent (nil when the stream ended).
func (c *smClient) next() *xmlstream.Element {
	c.t.Helper()
	select {
	case el := <-c.in:
		return el
	case <-time.After(smWait):
		c.t.Fatal("timed out waiting for the server")
		return nil
	}
}

// want returns the next element and fails unless it is <local/>.
func (c *smClient) want(local string) *xmlstream.Element {
	c.t.Helper()
	el := c.next()
	if el == nil || el.Local != local {
		c.t.Fatalf("got %v, want <%s/>", el, local)
	}
	return el
}

func (c *smClient) bind(res string) {
	c.t.Helper()
	c.send(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>` + res + `</resource></bind></iq>`)
	if el := c.want("iq"); el.Attr("type") != "result" {
		c.t.Fatalf("bind: %v", el)
	}
}

// enable binds, enables stream management with resumption and returns the id.
func (c *smClient) enable(res string) string {
	c.t.Helper()
	c.bind(res)
	c.send(`<enable xmlns='urn:xmpp:sm:3' resume='true'/>`)
	el := c.want("enabled")
	if el.Space != sm.NS || el.Attr("resume") != "true" || el.Attr("id") == "" {
		c.t.Fatalf("enabled: %v", el)
	}
	return el.Attr("id")
}

// body returns the body of a message, "" for anything else.
func body(el *xmlstream.Element) string {
	if el == nil || el.Local != "message" {
		return ""
	}
	if b := el.Child("jabber:client", "body"); b != nil {
		return b.Text()
	}
	return ""
}

// wantMessage expects a message with the body and the <r/> that follows it.
func (c *smClient) wantMessage(text string) {
	c.t.Helper()
	if el := c.next(); body(el) != text {
		c.t.Fatalf("got %v, want the message %q", el, text)
	}
	c.want("r")
}

func wantH(t *testing.T, el *xmlstream.Element, h int) {
	t.Helper()
	if el.Attr("h") != fmt.Sprint(h) {
		t.Fatalf("%v: want h=%d", el, h)
	}
}

// resume sends <resume previd h/>.
func (c *smClient) resume(id string, h int) {
	c.send(fmt.Sprintf(`<resume xmlns='urn:xmpp:sm:3' previd='%s' h='%d'/>`, id, h))
}

// wantResumeFailed resumes id and wants <failed/> with cond; what names the case.
func (c *smClient) wantResumeFailed(id string, h int, cond, what string) {
	c.t.Helper()
	c.resume(id, h)
	if el := c.next(); !failedWith(el, cond) {
		c.t.Fatalf("%s: %v", what, el)
	}
}

func failedWith(el *xmlstream.Element, cond string) bool {
	return el != nil && el.Local == "failed" && el.Child("urn:ietf:params:xml:ns:xmpp-stanzas", cond) != nil
}

// TestSMEnableAndCount: the feature after SASL, <enabled/> with the defaults, h of
// both directions, and the refusals (<enable/> before bind and twice, h beyond
// what was sent).
func TestSMEnableAndCount(t *testing.T) {
	s, api := serve(t, server.TestConfig(t.TempDir()))
	provision(t, api, "sm.example", "alice", "bob")
	addr := s.C2SAddrs()[0]
	bob := rawLogin(t, addr, "bob", "sm.example")

	a := smAuth(t, addr, "alice", "sm.example")
	if a.feat.Child(sm.NS, "sm") == nil {
		t.Fatalf("no <sm/> feature after SASL: %v", a.feat)
	}
	a.send(`<enable xmlns='urn:xmpp:sm:3'/>`)
	if el := a.next(); !failedWith(el, "unexpected-request") {
		t.Fatalf("enable before bind: %v", el)
	}
	a.bind("phone")
	a.send(`<enable xmlns='urn:xmpp:sm:3' resume='true'/>`)
	if el := a.want("enabled"); el.Attr("max") != "600" || el.Attr("id") == "" {
		t.Fatalf("enabled with the defaults: %v", el)
	}
	a.send(`<enable xmlns='urn:xmpp:sm:3'/>`)
	if el := a.next(); !failedWith(el, "unexpected-request") {
		t.Fatalf("enable twice: %v", el)
	}
	a.send(`<r xmlns='urn:xmpp:sm:3'/>`)
	wantH(t, a.want("a"), 0)
	for i := range 3 {
		a.send(meshtest.Message("bob@sm.example", fmt.Sprint("to bob ", i)))
	}
	a.send(`<r xmlns='urn:xmpp:sm:3'/>`)
	wantH(t, a.want("a"), 3)
	if _, err := bob.Expect(smWait, meshtest.Body("to bob 2")); err != nil {
		t.Fatal(err)
	}
	bob.Send(meshtest.Message("alice@sm.example/phone", "one"))
	a.wantMessage("one")
	bob.Send(meshtest.Message("alice@sm.example/phone", "two"))
	a.wantMessage("two")
	a.send(`<a xmlns='urn:xmpp:sm:3' h='2'/>`)
	a.send(`<a xmlns='urn:xmpp:sm:3' h='3'/>`)
	for el := a.next(); el != nil; el = a.next() {
		if el.Local == "error" {
			if el.Child("urn:ietf:params:xml:ns:xmpp-streams", "undefined-condition") == nil ||
				!strings.Contains(el.String(), sm.TextHBeyond) {
				t.Fatalf("stream error: %v", el)
			}
			return
		}
	}
	t.Fatal("the stream ended without <undefined-condition/>")
}

// TestSMResume: messages sent to a user whose TCP connection dropped are received
// exactly once after <resume/>, with the h values right in both directions.
func TestSMResume(t *testing.T) {
	s, api := serve(t, server.TestConfig(t.TempDir()))
	provision(t, api, "sm.example", "alice", "bob")
	addr := s.C2SAddrs()[0]
	bob := rawLogin(t, addr, "bob", "sm.example")

	a := smAuth(t, addr, "alice", "sm.example")
	id := a.enable("phone")
	a.send(meshtest.Message("bob@sm.example", "hi bob"))
	if _, err := bob.Expect(smWait, meshtest.Body("hi bob")); err != nil {
		t.Fatal(err)
	}
	bob.Send(meshtest.Message("alice@sm.example/phone", "m1"))
	a.wantMessage("m1")
	a.send(`<a xmlns='urn:xmpp:sm:3' h='1'/>`)
	bob.Send(meshtest.Message("alice@sm.example/phone", "m2"))
	a.wantMessage("m2") // received, never acknowledged
	a.conn.Close()      // no </stream:stream>

	// While nobody is connected: kept, not bounced nor stored offline.
	bob.Send(meshtest.Message("alice@sm.example/phone", "m3"))
	bob.Send(meshtest.Message("alice@sm.example/phone", "m4"))

	a2 := smAuth(t, addr, "alice", "sm.example")
	a2.resume(id, 1)
	el := a2.want("resumed")
	wantH(t, el, 1) // alice's one message to bob
	if el.Attr("previd") != id {
		t.Fatalf("resumed: %v", el)
	}
	var got []string
	for len(got) < 3 {
		if el := a2.next(); el.Local == "message" {
			got = append(got, body(el))
		}
	}
	if strings.Join(got, ",") != "m2,m3,m4" {
		t.Fatalf("after resume got %v, want m2,m3,m4 once each", got)
	}
	a2.send(`<a xmlns='urn:xmpp:sm:3' h='4'/>`)
	// The session goes on: counting continues and new messages arrive once.
	a2.send(meshtest.Message("bob@sm.example", "back"))
	if _, err := bob.Expect(smWait, meshtest.Body("back")); err != nil {
		t.Fatal(err)
	}
	a2.send(`<r xmlns='urn:xmpp:sm:3'/>`)
	for el := a2.next(); ; el = a2.next() {
		if body(el) != "" {
			t.Fatalf("unexpected message %v", el)
		}
		if el.Local == "a" {
			wantH(t, el, 2)
			break
		}
	}
	bob.Send(meshtest.Message("alice@sm.example/phone", "m5"))
	if el := a2.next(); body(el) != "m5" {
		t.Fatalf("got %v, want m5", el)
	}
}

// TestSMResumeRefused: another user's id and an unknown id are not found; the
// client then binds a new session.
func TestSMResumeRefused(t *testing.T) {
	s, api := serve(t, server.TestConfig(t.TempDir()))
	provision(t, api, "sm.example", "alice", "carol")
	addr := s.C2SAddrs()[0]
	a := smAuth(t, addr, "alice", "sm.example")
	id := a.enable("phone")
	a.conn.Close()

	c := smAuth(t, addr, "carol", "sm.example")
	c.wantResumeFailed(id, 0, "item-not-found", "resuming alice's session as carol")
	c.wantResumeFailed("nosuchid", 0, "item-not-found", "unknown id")
	c.bind("desk")
	c.wantResumeFailed(id, 0, "unexpected-request", "resume after bind")
}

// smOpts sets mod_stream_management's options for the tests.
func smOpts(cfg *config.Config, opts map[string]any) *config.Config {
	mods := maps.Clone(cfg.Modules)
	mods[sm.Name] = config.Module{Name: sm.Name, Opts: opts}
	cfg.Modules = mods
	return cfg
}

// awaitOffline awaits n offline messages for user.
func awaitOffline(t *testing.T, s *server.Server, domain, user string, n int) {
	t.Helper()
	deadline := time.Now().Add(smWait)
	for {
		got := 0
		_ = s.Node.View(func(tx *bolt.Tx) error { got = store.OfflineCount(tx, domain, user); return nil })
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d offline messages, want %d", user, got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSMTimeoutGoesOffline: when resume_timeout passes, the unacknowledged messages
// (received but not acked, and those that arrived while detached) go to offline
// storage and come with the next login.
func TestSMTimeoutGoesOffline(t *testing.T) {
	cfg := smOpts(server.TestConfig(t.TempDir()), map[string]any{"resume_timeout": int64(1)})
	s, api := serve(t, cfg)
	provision(t, api, "sm.example", "alice", "bob")
	addr := s.C2SAddrs()[0]
	bob := rawLogin(t, addr, "bob", "sm.example")
	a := smAuth(t, addr, "alice", "sm.example")
	id := a.enable("phone")
	bob.Send(meshtest.Message("alice@sm.example/phone", "acked"))
	a.wantMessage("acked")
	a.send(`<a xmlns='urn:xmpp:sm:3' h='1'/>`)
	bob.Send(meshtest.Message("alice@sm.example/phone", "unacked"))
	a.wantMessage("unacked")
	a.conn.Close()
	bob.Send(meshtest.Message("alice@sm.example/phone", "while away"))
	awaitOffline(t, s, "sm.example", "alice", 2)

	a2 := smAuth(t, addr, "alice", "sm.example")
	a2.wantResumeFailed(id, 1, "item-not-found", "resume after the timeout")
	alice, err := meshtest.Login(addr, "alice", "sm.example", "pw", "desk")
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	alice.Send(`<presence/>`) // available: offline delivery
	for _, b := range []string{"unacked", "while away"} {
		if _, err := alice.Expect(smWait, meshtest.Body(b)); err != nil {
			t.Fatalf("offline %q: %v", b, err)
		}
	}
}

// TestSMBufferMax: past buffer_max unacknowledged stanzas the stream ends with
// <resource-constraint/>, and nothing is lost: the buffer goes offline.
func TestSMBufferMax(t *testing.T) {
	cfg := smOpts(server.TestConfig(t.TempDir()), map[string]any{"buffer_max": int64(2)})
	s, api := serve(t, cfg)
	provision(t, api, "sm.example", "alice", "bob")
	addr := s.C2SAddrs()[0]
	bob := rawLogin(t, addr, "bob", "sm.example")
	a := smAuth(t, addr, "alice", "sm.example")
	a.enable("phone")
	for i := range 3 {
		bob.Send(meshtest.Message("alice@sm.example/phone", fmt.Sprint("b", i)))
	}
	for el := a.next(); ; el = a.next() {
		if el == nil {
			t.Fatal("the stream ended without a stream error")
		}
		if el.Local == "error" {
			if el.Child("urn:ietf:params:xml:ns:xmpp-streams", "resource-constraint") == nil {
				t.Fatalf("stream error: %v", el)
			}
			break
		}
	}
	awaitOffline(t, s, "sm.example", "alice", 3)
}

// TestSMAckedIsArchived: once the server acknowledged a message (<a h/>), it is in
// the sender's MAM archive, which survives a restart.
func TestSMAckedIsArchived(t *testing.T) {
	dir := t.TempDir()
	s, api := startMAM(t, dir)
	provisionHT(t, api, "advanced", "smmam.example", "alice", "bob")
	a := smAuth(t, s.C2SAddrs()[0], "alice", "smmam.example")
	a.enable("phone")
	a.send(meshtest.Message("bob@smmam.example", "acked and archived"))
	a.send(`<r xmlns='urn:xmpp:sm:3'/>`)
	wantH(t, a.want("a"), 1)
	// Acknowledged means committed: no flush is needed.
	_ = s.Node.View(func(tx *bolt.Tx) error {
		if n := store.ArchiveCount(tx, "smmam.example", "alice", ""); n != 1 {
			t.Errorf("alice's archive holds %d messages when acked", n)
		}
		return nil
	})
	a.conn.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = startMAM(t, dir)
	defer s.Close()
	c := rawLogin(t, s.C2SAddrs()[0], "alice", "smmam.example")
	p, _ := mamQuery(t, c, nil, "")
	wantPage(t, p, "true", "acked and archived")
}

// TestSMStateGoesWithDomain: a detached, resumable session of a domain that is
// removed ends with the domain. Its buffered messages do not reach the next tenant of
// the same name (no offline messages appear), and its resumption id is not found.
func TestSMStateGoesWithDomain(t *testing.T) {
	s, api := serve(t, server.TestConfig(t.TempDir()))
	provision(t, api, "sm.example", "alice", "bob")
	addr := s.C2SAddrs()[0]
	bob := rawLogin(t, addr, "bob", "sm.example")
	a := smAuth(t, addr, "alice", "sm.example")
	id := a.enable("phone")
	bob.Send(meshtest.Message("alice@sm.example/phone", "m1"))
	a.wantMessage("m1") // received, never acknowledged
	a.conn.Close()      // detached: kept for resume_timeout
	bob.Send(meshtest.Message("alice@sm.example/phone", "m2"))

	if code, body := restBody(t, "DELETE", api+"/domains/sm.example", `{"host_type":"basic"}`); code != 204 {
		t.Fatalf("remove domain: %d %s", code, body)
	}
	provision(t, api, "sm.example", "alice")
	a2 := smAuth(t, addr, "alice", "sm.example")
	a2.wantResumeFailed(id, 0, "item-not-found", "resuming a removed tenant's session")
	awaitOffline(t, s, "sm.example", "alice", 0)
}
