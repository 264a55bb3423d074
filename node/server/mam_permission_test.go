package server_test

import (
	"testing"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
)

// TestMAMPermissionRules: mod_mam's permission rules as MongooseIM evaluates them.
// mam_lookup_messages lets the "auditors" read any user's archive and the rooms'
// archives, and refuses "frozen" its own; mam_set_prefs refuses "frozen" alone.
// Everyone else keeps the default: one's own archive, a room's archive for its
// occupants, and <not-allowed/> "The action is not allowed." for someone else's.
func TestMAMPermissionRules(t *testing.T) {
	t.Parallel()
	cfg := withRoomsAndArchives(server.TestConfig(t.TempDir()), "group")
	for i := range cfg.HostConfigs {
		if cfg.HostConfigs[i].HostType != "group" {
			continue
		}
		// Room archives are judged in the context of the room's service domain
		// (muclight.a.example), so the auditors' pattern matches any hosted domain.
		cfg.HostConfigs[i].ACL = map[string][]config.ACLPattern{
			"auditors": {{User: "auditor", Match: "any_hosted_domain"}},
			"frozen":   {{User: "frozen"}},
		}
		cfg.HostConfigs[i].Access = map[string][]config.AccessClause{
			"mam_lookup_messages": {{ACL: "auditors", Value: "allow"}, {ACL: "frozen", Value: "deny"}},
			"mam_set_prefs":       {{ACL: "frozen", Value: "deny"}},
		}
	}
	s, api := serve(t, cfg)
	provisionHT(t, api, "group", "a.example", append([]string{"zed", "auditor", "frozen"}, mucUsers...)...)
	addr := s.C2SAddrs()[0]
	c := map[string]*mc{}
	for _, u := range append([]string{"zed", "auditor", "frozen"}, mucUsers...) {
		c[u] = mucLogin(t, addr, u, "a.example")
	}

	// alice -> bob, archived for both before bob gets it.
	isoSend(t, c["alice"].Client, `<message type='chat' id='p1' to='bob@a.example'><body>secret</body></message>`)
	expectEl(t, c["bob"], meshtest.Body("secret"))

	if _, refused := mamQueryAt(t, c["zed"].Client, "alice@a.example", nil, ""); refused != "not-allowed:The action is not allowed." {
		t.Fatalf("zed reading alice's archive: %q", refused)
	}
	p, refused := mamQueryAt(t, c["auditor"].Client, "alice@a.example", nil, "")
	if refused != "" {
		t.Fatalf("auditor reading alice's archive: %s", refused)
	}
	wantPage(t, p, "true", "secret")
	// The owner is untouched by a rule that names others.
	p, refused = mamQuery(t, c["alice"].Client, nil, "")
	if refused != "" {
		t.Fatalf("alice's own archive: %s", refused)
	}
	wantPage(t, p, "true", "secret")
	if _, refused := mamQuery(t, c["frozen"].Client, nil, ""); refused != "not-allowed:The action is not allowed." {
		t.Fatalf("frozen reading its own archive: %q", refused)
	}

	// Preferences: frozen may read its own but not change them; zed may not read
	// alice's.
	wantIQResult(t, muciq(t, c["frozen"], "gp", `<iq type='get' id='gp'><prefs xmlns='urn:xmpp:mam:2'/></iq>`))
	wantIQError(t, muciq(t, c["frozen"], "sp", `<iq type='set' id='sp'><prefs xmlns='urn:xmpp:mam:2' default='never'/></iq>`), "not-allowed")
	wantIQResult(t, muciq(t, c["alice"], "sp2", `<iq type='set' id='sp2'><prefs xmlns='urn:xmpp:mam:2' default='roster'/></iq>`))
	wantIQError(t, muciq(t, c["zed"], "gp2", `<iq type='get' id='gp2' to='alice@a.example'><prefs xmlns='urn:xmpp:mam:2'/></iq>`), "not-allowed")

	// A room archive: occupants by default, the auditor by the rule, not zed.
	createTeam(t, c)
	isoSend(t, c["bob"].Client, `<message type='groupchat' id='g1' to='`+room+`'><body>plan</body></message>`)
	for _, u := range mucUsers {
		expectEl(t, c[u], meshtest.Body("plan"))
	}
	for _, who := range []string{"carol", "auditor"} {
		p, refused := roomQuery(t, c[who].Client, room, "")
		if refused != "" {
			t.Fatalf("%s reading the room archive: %s", who, refused)
		}
		wantPage(t, p, "true", "plan")
	}
	if _, refused := roomQuery(t, c["zed"].Client, room, ""); refused != "item-not-found" {
		t.Fatalf("zed reading the room archive: %q", refused)
	}
}
