package server_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// TestAccessPerUser: access rules are evaluated per user, over real sockets. One
// server serves every part (a server start costs a second): boss is in the admin
// ACL, mallory in blocked (the default c2s listener rule denies it), solo in an ACL
// limited to one session, and user names matching the glob "spam*" may not
// register.
func TestAccessPerUser(t *testing.T) {
	cfg := server.TestConfig(t.TempDir())
	cfg.ACL = maps.Clone(cfg.ACL)
	cfg.Access = maps.Clone(cfg.Access)
	cfg.ACL["admin"] = []config.ACLPattern{{User: "boss"}}
	cfg.ACL["blocked"] = []config.ACLPattern{{User: "mallory"}}
	cfg.ACL["solo"] = []config.ACLPattern{{User: "solo"}}
	cfg.ACL["spammers"] = []config.ACLPattern{{UserGlob: "spam*"}}
	cfg.Access["max_user_offline_messages"] = []config.AccessClause{{ACL: "admin", Value: "4"}, {ACL: "all", Value: "2"}}
	cfg.Access["max_user_sessions"] = []config.AccessClause{{ACL: "solo", Value: "1"}, {ACL: "all", Value: "10"}}
	cfg.Access["register"] = []config.AccessClause{{ACL: "spammers", Value: "deny"}, {ACL: "all", Value: "allow"}}
	s, api := serve(t, cfg)
	addr := s.C2SAddrs()[0]
	provision(t, api, "acl.example", "alice", "bob", "boss", "mallory", "solo")

	t.Run("OfflineLimit", func(t *testing.T) {
		alice := rawLogin(t, addr, "alice", "acl.example")
		// boss (admin: 4) takes three; bob (everyone else: 2) refuses the third. The
		// sender's stanzas are handled in order, so the first error tells which
		// message overflowed first.
		for _, m := range []struct{ to, id string }{
			{"boss", "b1"}, {"boss", "b2"}, {"boss", "b3"}, {"bob", "o1"}, {"bob", "o2"}, {"bob", "o3"},
		} {
			if err := alice.Send(`<message type='chat' to='` + m.to + `@acl.example' id='` + m.id + `'><body>hi</body></message>`); err != nil {
				t.Fatal(err)
			}
		}
		el, err := alice.Expect(meshtest.Timeout, func(el *xmlstream.Element) bool {
			return el.Local == "message" && el.Attr("type") == "error"
		})
		if err != nil {
			t.Fatal(err)
		}
		if el.Attr("id") != "o3" || !strings.Contains(el.String(), "resource-constraint") {
			t.Fatalf("first refusal: %s, want o3 with <resource-constraint/>", el)
		}
	})

	t.Run("C2SAccessRule", func(t *testing.T) {
		// Authentication succeeds; the bind is refused with <not-allowed/>.
		c, err := meshtest.Login(addr, "mallory", "acl.example", "pw", "r")
		if err == nil {
			c.Close()
			t.Fatal("mallory (blocked) bound a resource")
		}
		if !strings.Contains(err.Error(), "bind refused") || !strings.Contains(err.Error(), "not-allowed") {
			t.Fatalf("mallory: %v, want a bind refused with <not-allowed/>", err)
		}
		rawLogin(t, addr, "bob", "acl.example")
	})

	t.Run("MaxUserSessions", func(t *testing.T) {
		login := func(user, res string) error {
			c, err := meshtest.Login(addr, user, "acl.example", "pw", res)
			if err == nil {
				t.Cleanup(c.Close)
			}
			return err
		}
		if err := login("solo", "r1"); err != nil {
			t.Fatal(err)
		}
		if err := login("solo", "r2"); err == nil || !strings.Contains(err.Error(), "resource-constraint") {
			t.Fatalf("solo's second session: %v, want <resource-constraint/>", err)
		}
		for _, res := range []string{"r1", "r2"} {
			if err := login("boss", res); err != nil {
				t.Fatalf("boss/%s: %v", res, err)
			}
		}
	})

	t.Run("RegisterAccess", func(t *testing.T) {
		c := openPreAuth(t, addr, "127.0.0.31", "acl.example")
		if got, el := c.iq(regIQ("spammer1", "pw")); got != "error/forbidden" {
			t.Fatalf("spammer1: %s", el)
		}
		c = openPreAuth(t, addr, "127.0.0.32", "acl.example")
		if got, el := c.iq(regIQ("honest", "pw")); got != "result" {
			t.Fatalf("honest: %s", el)
		}
	})
}
