package config

import (
	"slices"
	"testing"
	"time"
)

const hostConfigSrc = `
[general]
  hosts = ["Domain1.COM", "domain2.com"]
  host_types = ["basic", "advanced"]
  default_server_domain = "domain1.com"
  replaced_wait_timeout = 1000

[auth]
  methods = ["rdbms"]
  password.hash = ["sha256"]

[modules.mod_disco]
  users_can_see_hidden_services = false
[modules.mod_roster]

[acl]
  blocked = [{user = "spammer"}, {user = "Hacker1"}]
  admin = [{user = "alice", server = "Domain1.com"}]

[access]
  c2s = [
    {acl = "admin", value = "allow"},
    {acl = "all", value = "allow"}
  ]
  max_user_sessions = [{acl = "admin", value = 20}]
  local = [{acl = "local", value = "allow"}]

[[host_config]]
  host = "DOMAIN2.com"
  [host_config.general]
    replaced_wait_timeout = 2000
  [host_config.modules.mod_disco]
  [host_config.modules.mod_stream_management]
  [host_config.acl]
    blocked = [{user = "hacker2"}]
    local = [{}]
  [host_config.access]
    c2s = [{acl = "blocked", value = "deny"}]
    max_user_sessions = [{acl = "all", value = 5}]
    register = [{acl = "all", value = "deny"}]

[[host_config]]
  host_type = "advanced"
  [host_config.auth]
    methods = ["internal"]
    password.scram_iterations = 40_000
  [host_config.modules]
`

func TestHostConfigResolution(t *testing.T) {
	c, probs := mustParse(t, hostConfigSrc)
	if len(probs) != 0 {
		t.Errorf("problems:\n%s", probs)
	}
	if !slices.Equal(c.General.Hosts, []string{"domain1.com", "domain2.com"}) {
		t.Errorf("hosts not normalised: %v", c.General.Hosts)
	}
	if len(c.HostConfigs) != 2 || c.HostConfigs[0].HostType != "domain2.com" || c.HostConfigs[1].HostType != "advanced" {
		t.Fatalf("host configs %+v", c.HostConfigs)
	}

	t.Run("modules full override", func(t *testing.T) {
		if got := sortedKeys(c.ModulesFor("domain2.com")); !slices.Equal(got, []string{"mod_disco", "mod_stream_management"}) {
			t.Errorf("domain2.com modules %v", got)
		}
		// The override does not inherit top-level options either.
		if !c.ModulesFor("domain2.com")["mod_disco"].Bool("users_can_see_hidden_services", true) {
			t.Error("domain2.com mod_disco inherited a top-level option")
		}
		for _, ht := range []string{"domain1.com", "basic"} {
			if got := sortedKeys(c.ModulesFor(ht)); !slices.Equal(got, []string{"mod_disco", "mod_roster"}) {
				t.Errorf("%s modules %v", ht, got)
			}
		}
		// An empty [host_config.modules] still overrides: no modules.
		if got := c.ModulesFor("advanced"); got == nil || len(got) != 0 {
			t.Errorf("advanced modules %v, want an empty override", got)
		}
	})

	t.Run("auth full override", func(t *testing.T) {
		a := c.AuthFor("advanced")
		if !slices.Equal(a.Methods, []string{"internal"}) || a.Password.ScramIterations != 40000 {
			t.Errorf("advanced auth %+v", a)
		}
		// Full override: the top-level password.hash is not inherited.
		if !slices.Equal(a.Password.Hash, passwordHashes) {
			t.Errorf("advanced hash %v, want the defaults", a.Password.Hash)
		}
		if b := c.AuthFor("basic"); !slices.Equal(b.Methods, []string{"rdbms"}) || !slices.Equal(b.Password.Hash, []string{"sha256"}) {
			t.Errorf("basic auth %+v", b)
		}
	})

	t.Run("acl union", func(t *testing.T) {
		acl := c.ACLFor("domain2.com")
		var users []string
		for _, p := range acl["blocked"] {
			users = append(users, p.User)
		}
		if !slices.Equal(users, []string{"spammer", "hacker1", "hacker2"}) {
			t.Errorf("blocked on domain2.com: %v", users)
		}
		if len(acl["local"]) != 1 || acl["local"][0].Match != "current_domain" {
			t.Errorf("local on domain2.com: %+v", acl["local"])
		}
		if a := acl["admin"]; len(a) != 1 || a[0].Server != "domain1.com" {
			t.Errorf("admin %+v", a)
		}
		if got := c.ACLFor("domain1.com"); len(got["blocked"]) != 2 || got["local"] != nil {
			t.Errorf("domain1.com acl %+v", got)
		}
		// Resolution must not write through to the top level.
		if len(c.ACL["blocked"]) != 2 {
			t.Errorf("top-level acl modified: %+v", c.ACL["blocked"])
		}
	})

	t.Run("access merge", func(t *testing.T) {
		acc := c.AccessFor("domain2.com")
		want := []AccessClause{{"admin", "allow"}, {"blocked", "deny"}, {"all", "allow"}}
		if !slices.Equal(acc["c2s"], want) {
			t.Errorf("c2s with catch-all: %v, want %v", acc["c2s"], want)
		}
		want = []AccessClause{{"admin", "20"}, {"all", "5"}}
		if !slices.Equal(acc["max_user_sessions"], want) {
			t.Errorf("max_user_sessions without catch-all: %v, want %v", acc["max_user_sessions"], want)
		}
		if !slices.Equal(acc["register"], []AccessClause{{"all", "deny"}}) {
			t.Errorf("host-only rule: %v", acc["register"])
		}
		if !slices.Equal(acc["local"], []AccessClause{{"local", "allow"}}) {
			t.Errorf("top-only rule: %v", acc["local"])
		}
		top := c.AccessFor("domain1.com")
		if len(top["c2s"]) != 2 || top["register"] != nil {
			t.Errorf("domain1.com access %v", top)
		}
		if len(c.Access["c2s"]) != 2 {
			t.Errorf("top-level access modified: %v", c.Access["c2s"])
		}
		if n, ok := acc["max_user_sessions"][1].IntValue(); !ok || n != 5 {
			t.Errorf("IntValue %d %v", n, ok)
		}
		if _, ok := acc["c2s"][0].IntValue(); ok {
			t.Error("IntValue of allow")
		}
	})

	t.Run("general override", func(t *testing.T) {
		if d := c.ReplacedWaitTimeoutFor("domain2.com"); d != 2*time.Second {
			t.Errorf("domain2.com %v", d)
		}
		if d := c.ReplacedWaitTimeoutFor("basic"); d != time.Second {
			t.Errorf("basic %v", d)
		}
	})
}

func TestMergeAccessEmptyGlobal(t *testing.T) {
	got := mergeAccess(nil, []AccessClause{{"all", "deny"}})
	if !slices.Equal(got, []AccessClause{{"all", "deny"}}) {
		t.Errorf("%v", got)
	}
}
