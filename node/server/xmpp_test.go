package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"
	mxmlstream "mellium.im/xmlstream"
	"mellium.im/xmpp"
	mjid "mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/server"
)

// startTLS starts a full server whose c2s listener offers STARTTLS with the
// self-signed certificate the node generates.
func startTLS(t *testing.T) (*server.Server, string) {
	t.Helper()
	cfg := server.TestConfig(t.TempDir())
	cfg.Listen.C2S[0].TLS = &config.TLSConfig{Mode: "starttls"}
	s, _ := serve(t, cfg)
	return s, "http://" + s.AdminAddrs()[0] + "/api"
}

func rest(t *testing.T, method, url, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

type client struct {
	*xmpp.Session
	got    chan string // bodies received
	closed chan struct{}
}

// login connects with mellium over STARTTLS and SCRAM-SHA-256. The self-signed
// certificate names only the static hosts, so a dynamic domain's client skips
// verification, as an operator's test client would until a real certificate is set.
func login(t *testing.T, addr, user, password string) (*client, []byte, error) {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recConn{Conn: raw}
	t.Cleanup(func() { raw.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := xmpp.NewClientSession(ctx, mjid.MustParse(user), rec,
		xmpp.StartTLS(&tls.Config{InsecureSkipVerify: true}),
		xmpp.SASL("", password, sasl.ScramSha256Plus, sasl.ScramSha256),
		xmpp.BindResource(),
	)
	if err != nil {
		return nil, rec.buf.Bytes(), err
	}
	c := &client{Session: sess, got: make(chan string, 16), closed: make(chan struct{})}
	available := make(chan struct{}, 1)
	go func() {
		defer close(c.closed)
		sess.Serve(xmpp.HandlerFunc(func(r mxmlstream.TokenReadEncoder, start *xml.StartElement) error {
			if start.Name.Local == "presence" {
				// The echo of the session's own initial presence.
				select {
				case available <- struct{}{}:
				default:
				}
				return nil
			}
			if start.Name.Local != "message" {
				return nil
			}
			var msg struct {
				Body string `xml:"body"`
			}
			d := xml.NewTokenDecoder(mxmlstream.MultiReader(mxmlstream.Token(*start), r))
			if err := d.Decode(&msg); err != nil {
				return err
			}
			c.got <- msg.Body
			return nil
		}))
	}()
	// Initial presence makes the session available: mod_presence (on by default)
	// delivers messages for the bare JID to available resources only. The server
	// echoes it to the user's resources once it is in effect.
	if err := sess.Send(ctx, stanza.Presence{}.Wrap(nil)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-available:
	case <-ctx.Done():
		t.Fatal("initial presence not echoed")
	}
	return c, nil, nil
}

type recConn struct {
	net.Conn
	buf bytes.Buffer
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.buf.Write(p[:n])
	return n, err
}

func (c *client) send(t *testing.T, to, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b := mxmlstream.Wrap(mxmlstream.Token(xml.CharData(body)), xml.StartElement{Name: xml.Name{Local: "body"}})
	if err := c.Send(ctx, stanza.Message{To: mjid.MustParse(to), Type: stanza.ChatMessage}.Wrap(b)); err != nil {
		t.Fatal(err)
	}
}

func (c *client) expect(t *testing.T, body string) {
	t.Helper()
	select {
	case got := <-c.got:
		if got != body {
			t.Fatalf("got %q, want %q", got, body)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%q not delivered", body)
	}
}

func (c *client) expectClosedWithin(t *testing.T, d time.Duration, why string) {
	t.Helper()
	select {
	case <-c.closed:
	case <-time.After(d):
		t.Fatalf("session still open %v after %s", d, why)
	}
}

// A domain added through REST one moment ago serves logins and chat at once; disabling
// it closes its sessions within a second and refuses new streams with <host-unknown/>;
// removing an account closes that user's sessions.
func TestDynamicDomainEndToEnd(t *testing.T) {
	s, api := startTLS(t)
	addr := s.C2SAddrs()[0]
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/domains/tenant.example", `{"host_type":"basic"}`},
		{"POST", "/users/tenant.example", `{"username":"alice","password":"pw-a"}`},
		{"POST", "/users/tenant.example", `{"username":"bob","password":"pw-b"}`},
	} {
		if code := rest(t, c.method, api+c.path, c.body); code/100 != 2 {
			t.Fatalf("%s %s: %d", c.method, c.path, code)
		}
	}
	alice, _, err := login(t, addr, "alice@tenant.example", "pw-a")
	if err != nil {
		t.Fatalf("alice login: %v", err)
	}
	bob, _, err := login(t, addr, "bob@tenant.example", "pw-b")
	if err != nil {
		t.Fatalf("bob login: %v", err)
	}
	alice.send(t, "bob@tenant.example", "hello bob")
	bob.expect(t, "hello bob")
	bob.send(t, alice.LocalAddr().String(), "hi alice")
	alice.expect(t, "hi alice")

	if _, _, err := login(t, addr, "alice@tenant.example", "wrong"); err == nil {
		t.Error("login with a wrong password succeeded")
	}

	if code := rest(t, "PATCH", api+"/domains/tenant.example", `{"enabled":false}`); code != 204 {
		t.Fatalf("disable: %d", code)
	}
	alice.expectClosedWithin(t, time.Second, "the domain was disabled")
	bob.expectClosedWithin(t, time.Second, "the domain was disabled")
	_, got, err := login(t, addr, "alice@tenant.example", "pw-a")
	if err == nil || !strings.Contains(string(got), "host-unknown") {
		t.Fatalf("login on a disabled domain: %v, server sent %q", err, got)
	}

	if code := rest(t, "PATCH", api+"/domains/tenant.example", `{"enabled":true}`); code != 204 {
		t.Fatalf("enable: %d", code)
	}
	alice, _, err = login(t, addr, "alice@tenant.example", "pw-a")
	if err != nil {
		t.Fatalf("login after re-enable: %v", err)
	}
	if code := rest(t, "DELETE", api+"/users/tenant.example/alice", ""); code != 204 {
		t.Fatalf("remove user: %d", code)
	}
	alice.expectClosedWithin(t, time.Second, "the account was removed")
	if _, _, err := login(t, addr, "alice@tenant.example", "pw-a"); err == nil {
		t.Error("removed user logged in")
	}
}

// Removing a domain closes its sessions, and a static host keeps serving.
func TestRemoveDomainClosesSessions(t *testing.T) {
	s, api := startTLS(t)
	addr := s.C2SAddrs()[0]
	rest(t, "PUT", api+"/domains/gone.example", `{"host_type":"basic"}`)
	rest(t, "POST", api+"/users/gone.example", `{"username":"u","password":"pw"}`)
	rest(t, "POST", api+"/users/localhost", `{"username":"admin","password":"pw"}`)
	u, _, err := login(t, addr, "u@gone.example", "pw")
	if err != nil {
		t.Fatal(err)
	}
	local, _, err := login(t, addr, "admin@localhost", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if code := rest(t, "DELETE", api+"/domains/gone.example", `{"host_type":"basic","request":true}`); code != 202 {
		t.Fatalf("async remove: %d", code)
	}
	u.expectClosedWithin(t, time.Second, "the domain was removed")
	select {
	case <-local.closed:
		t.Fatal("a static host's session was closed")
	default:
	}
	local.send(t, local.LocalAddr().String(), "still here")
	local.expect(t, "still here")
}
