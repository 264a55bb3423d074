package loadclient_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/c2s"
	"github.com/mongoose-go/mongoose-go/xmpp/loadclient"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
	"github.com/mongoose-go/mongoose-go/xmpp/tlscert"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

const domain = "load.example"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// The server side is the real c2s listener and router with in-memory domains and
// accounts (xmpp does not import node, not even in tests).
type directory map[string]string

func (d directory) HostTypeOf(domain string) (string, bool) { ht, ok := d[domain]; return ht, ok }

type accounts struct {
	mu    sync.Mutex
	users map[string]scram.Credentials
}

func (a *accounts) add(t *testing.T, user, password string) {
	t.Helper()
	c, err := scram.Derive(password, 64, []scram.Hash{scram.SHA256}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.users[user] = c
	a.mu.Unlock()
}

func (a *accounts) Credentials(domain, user string) (scram.Credentials, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.users[user]; ok {
		return c, nil
	}
	return scram.Credentials{}, fmt.Errorf("%s: %w", user, scram.ErrUnknownUser)
}

func (a *accounts) UserExists(_, user string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.users[user]
	return ok
}

// serve starts a c2s listener with users alice and bob (password "pw-" + name).
func serve(t *testing.T, mode c2s.TLSMode) string {
	t.Helper()
	dir := directory{domain: "basic"}
	accts := &accounts{users: map[string]scram.Credentials{}}
	accts.add(t, "alice", "pw-alice")
	accts.add(t, "bob", "pw-bob")
	r, err := router.New(router.Config{Directory: dir, Accounts: accts, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	cfg := c2s.Config{
		Addr: "127.0.0.1:0", Directory: dir, Accounts: accts, Router: r,
		Mechanisms: func(string) []string { return []string{"SCRAM-SHA-256", "PLAIN"} },
		Logger:     quiet, TLSMode: mode,
	}
	if mode != c2s.TLSNone {
		certPEM, keyPEM, err := tlscert.Generate([]string{domain}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	l, err := c2s.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

func dial(t *testing.T, cfg loadclient.Config) *loadclient.Client {
	t.Helper()
	c, err := loadclient.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// nextMessage reads until a <message/> arrives.
func nextMessage(t *testing.T, c *loadclient.Client) *xmlstream.Element {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		el, err := c.Next()
		if err != nil {
			t.Fatal(err)
		}
		if el.Local == "message" {
			return el
		}
	}
}

func TestLoginAndChat(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     c2s.TLSMode
		startTLS bool
		mech     string
	}{
		{"plain in clear", c2s.TLSNone, false, ""},
		{"scram in clear", c2s.TLSNone, false, loadclient.MechSCRAMSHA256},
		{"plain over starttls", c2s.TLSStartTLS, true, loadclient.MechPLAIN},
		{"scram over starttls", c2s.TLSStartTLSRequired, true, loadclient.MechSCRAMSHA256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, tc.mode)
			alice := dial(t, loadclient.Config{Addr: addr, Domain: domain, User: "alice", Password: "pw-alice",
				StartTLS: tc.startTLS, Mechanism: tc.mech})
			bob := dial(t, loadclient.Config{Addr: addr, Domain: domain, User: "bob", Password: "pw-bob",
				StartTLS: tc.startTLS, Mechanism: tc.mech, Resource: "phone"})
			if got := bob.JID(); got != "bob@"+domain+"/phone" {
				t.Errorf("bound %q", got)
			}
			// The body goes through the escaper and the server's parser intact.
			body := `<b>&"quotes'</b> ]]>`
			if err := alice.SendMessage("bob@"+domain, "", "m1", body); err != nil {
				t.Fatal(err)
			}
			m := nextMessage(t, bob)
			if m.Attr("from") != alice.JID() || m.Attr("id") != "m1" || m.Attr("type") != "chat" {
				t.Errorf("message attributes: %s", m)
			}
			if got := m.Child(xmlstream.ClientNamespace, "body").Text(); got != body {
				t.Errorf("body %q, want %q", got, body)
			}
		})
	}
}

func TestMessageToUnknownUserBounces(t *testing.T) {
	addr := serve(t, c2s.TLSNone)
	alice := dial(t, loadclient.Config{Addr: addr, Domain: domain, User: "alice", Password: "pw-alice"})
	if err := alice.SendMessage("nobody@"+domain, "chat", "x1", "hi"); err != nil {
		t.Fatal(err)
	}
	m := nextMessage(t, alice)
	if m.Attr("id") != "x1" || loadclient.ErrorCondition(m) != "service-unavailable" {
		t.Errorf("bounce: %s", m)
	}
}

func TestLoginFailures(t *testing.T) {
	addr := serve(t, c2s.TLSNone)
	ctx := context.Background()
	_, err := loadclient.Dial(ctx, loadclient.Config{Addr: addr, Domain: domain, User: "alice", Password: "wrong"})
	if !errors.Is(err, loadclient.ErrAuth) {
		t.Errorf("wrong password: %v", err)
	}
	_, err = loadclient.Dial(ctx, loadclient.Config{Addr: addr, Domain: domain, User: "alice", Password: "wrong",
		Mechanism: loadclient.MechSCRAMSHA256})
	if !errors.Is(err, loadclient.ErrAuth) {
		t.Errorf("wrong password, SCRAM: %v", err)
	}
	_, err = loadclient.Dial(ctx, loadclient.Config{Addr: addr, Domain: "other.example", User: "alice", Password: "pw-alice"})
	var se *loadclient.StreamError
	if !errors.As(err, &se) || se.Condition != "host-unknown" {
		t.Errorf("unknown domain: %v", err)
	}
	_, err = loadclient.Dial(ctx, loadclient.Config{Addr: addr, Domain: domain, User: "alice", Password: "pw-alice", StartTLS: true})
	if !errors.Is(err, loadclient.ErrNotOffered) {
		t.Errorf("STARTTLS on a listener without TLS: %v", err)
	}
	_, err = loadclient.Dial(ctx, loadclient.Config{Addr: addr, Domain: domain, User: "alice", Password: "pw-alice", Mechanism: "DIGEST-MD5"})
	if !errors.Is(err, loadclient.ErrNotOffered) {
		t.Errorf("unoffered mechanism: %v", err)
	}
}

// A server that accepts and never answers cannot hold a login past its timeout.
func TestLoginTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	_, err = loadclient.Dial(context.Background(), loadclient.Config{Addr: ln.Addr().String(), Domain: domain,
		User: "alice", Password: "pw", Timeout: 100 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = loadclient.Dial(ctx, loadclient.Config{Addr: ln.Addr().String(), Domain: domain, User: "alice", Password: "pw"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled login: %v", err)
	}
}

func TestSendAfterClose(t *testing.T) {
	addr := serve(t, c2s.TLSNone)
	c, err := loadclient.Dial(context.Background(), loadclient.Config{Addr: addr, Domain: domain, User: "alice", Password: "pw-alice"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := c.SendPresence(); !errors.Is(err, loadclient.ErrClosed) {
		t.Errorf("send after close: %v", err)
	}
}
