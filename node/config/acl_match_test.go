package config

import (
	"errors"
	"slices"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
)

// hostedSet is a Hosted over a fixed set of domains.
type hostedSet map[string]string

func (h hostedSet) HostTypeOf(d string) (string, bool) { ht, ok := h[d]; return ht, ok }

const aclSrc = `
[general]
  hosts = ["static.com"]
  host_types = ["basic", "other"]
  default_server_domain = "static.com"

[acl]
  local = [{}]
  admin = [{user = "Boss"}, {user = "root", server = "static.com"}]
  hosted = [{match = "any_hosted_domain"}]
  anyone = [{match = "all"}]
  nobody = [{match = "none"}, {match = "none", user = "boss"}]
  remote_boss = [{match = "all", user = "boss"}]
  mobile = [{resource = "Mobile"}]
  ae_re = [{user_regexp = "^a.*e"}]
  mid_re = [{user_regexp = "dm"}]
  srv_re = [{match = "all", server_regexp = '^s.*\.com$'}]
  res_re = [{resource_regexp = '^res\d+$'}]
  ae_glob = [{user_glob = "a*e*"}]
  srv_glob = [{match = "all", server_glob = "*.org"}]
  res_glob = [{resource_glob = "res???"}]
  slash_glob = [{resource_glob = "phone/*"}]
  class_glob = [{user_glob = "[!x]?b"}]

[access]
  max_user_offline_messages = [
    {acl = "admin", value = 5000},
    {acl = "all", value = 100}
  ]
  c2s = [
    {acl = "blocked", value = "deny"},
    {acl = "all", value = "allow"}
  ]
  register = [{acl = "ae_re", value = "deny"}, {acl = "local", value = "allow"}]
  no_catch_all = [{acl = "admin", value = "allow"}]

[[host_config]]
  host_type = "basic"
  [host_config.acl]
    blocked = [{user = "mallory"}]
    admin = [{user = "carol"}]
  [host_config.access]
    c2s = [{acl = "admin", value = "vip"}]
    no_catch_all = [{acl = "all", value = "local"}]
`

func mustJID(t *testing.T, s string) jid.JID {
	t.Helper()
	j, err := jid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestACLPatternKinds(t *testing.T) {
	c, probs := mustParse(t, aclSrc)
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	hosted := hostedSet{"static.com": "static.com", "a.com": "basic", "b.com": "basic"}
	for _, tc := range []struct {
		acl, domain, who string
		want             bool
	}{
		// {} is every user of the current domain, and only of it.
		{"local", "a.com", "x@a.com", true},
		{"local", "a.com", "x@b.com", false},
		// user alone: the user of the current domain (names prepped: "Boss" is "boss").
		{"admin", "a.com", "boss@a.com/r", true},
		{"admin", "a.com", "boss@b.com", false},
		{"admin", "static.com", "root@static.com", true},
		{"admin", "a.com", "root@a.com", false},
		// any_hosted_domain: any domain served here, static or dynamic.
		{"hosted", "a.com", "x@b.com", true},
		{"hosted", "a.com", "x@static.com", true},
		{"hosted", "a.com", "x@elsewhere.org", false},
		{"anyone", "a.com", "x@elsewhere.org", true},
		{"remote_boss", "a.com", "boss@elsewhere.org", true},
		{"remote_boss", "a.com", "other@elsewhere.org", false},
		{"nobody", "a.com", "boss@a.com", false},
		{"mobile", "a.com", "x@a.com/Mobile", true},
		{"mobile", "a.com", "x@a.com/mobile", false},
		{"mobile", "a.com", "x@a.com", false},
		// Regular expressions match anywhere unless anchored, as re:run does.
		{"ae_re", "a.com", "alice@a.com", true},
		{"ae_re", "a.com", "bob@a.com", false},
		{"ae_re", "a.com", "alice@b.com", false},
		{"mid_re", "a.com", "admin@a.com", true},
		{"srv_re", "a.com", "x@static.com", true},
		{"srv_re", "a.com", "x@static.com.org", false},
		{"res_re", "a.com", "x@a.com/res12", true},
		{"res_re", "a.com", "x@a.com/res12a", false},
		// Globs match the whole name; "/" is not special.
		{"ae_glob", "a.com", "albert@a.com", true},
		{"ae_glob", "a.com", "bob@a.com", false},
		{"ae_glob", "a.com", "xalice@a.com", false},
		{"srv_glob", "a.com", "x@jabber.org", true},
		{"srv_glob", "a.com", "x@jabber.org.com", false},
		{"res_glob", "a.com", "x@a.com/res123", true},
		{"res_glob", "a.com", "x@a.com/res1234", false},
		{"slash_glob", "a.com", "x@a.com/phone/1", true},
		{"class_glob", "a.com", "bob@a.com", true},
		{"class_glob", "a.com", "xob@a.com", false},
		// Built-in classes and undefined ones.
		{"all", "a.com", "x@elsewhere.org", true},
		{"none", "a.com", "x@a.com", false},
		{"undefined", "a.com", "x@a.com", false},
	} {
		if got := c.ACLMatch("other", tc.domain, tc.acl, mustJID(t, tc.who), hosted); got != tc.want {
			t.Errorf("ACLMatch(%s, %s, %s) = %v, want %v", tc.acl, tc.domain, tc.who, got, tc.want)
		}
	}
	// Without a Hosted, only general.hosts are hosted.
	if !c.ACLMatch("other", "a.com", "hosted", mustJID(t, "x@static.com"), nil) ||
		c.ACLMatch("other", "a.com", "hosted", mustJID(t, "x@b.com"), nil) {
		t.Error("nil Hosted: want static hosts only")
	}
}

func TestMatchRule(t *testing.T) {
	c, probs := mustParse(t, aclSrc)
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	for _, tc := range []struct {
		hostType, rule, who, want string
	}{
		{"other", "max_user_offline_messages", "boss@a.com", "5000"},
		{"other", "max_user_offline_messages", "alice@a.com", "100"},
		// host_config ACLs are a union with the top level's, for that host type only.
		{"basic", "max_user_offline_messages", "carol@a.com", "5000"},
		{"other", "max_user_offline_messages", "carol@a.com", "100"},
		{"basic", "c2s", "mallory@a.com", "deny"},
		{"other", "c2s", "mallory@a.com", "allow"},
		// host_config clauses go before the top level's trailing {acl = "all"}.
		{"basic", "c2s", "boss@a.com", "vip"},
		{"other", "c2s", "boss@a.com", "allow"},
		// Without a top-level catch-all, host_config clauses come after.
		{"basic", "no_catch_all", "boss@a.com", "allow"},
		{"basic", "no_catch_all", "x@a.com", "local"},
		{"other", "no_catch_all", "x@a.com", "deny"},
		{"other", "register", "alice@a.com", "deny"},
		{"other", "register", "bob@a.com", "allow"},
		// The current domain is the one passed, here a.com: b.com users are not local.
		{"other", "register", "bob@b.com", "deny"},
		// Built-in rules, and rules defined nowhere.
		{"other", "all", "x@a.com", "allow"},
		{"other", "none", "x@a.com", "deny"},
		{"other", "nosuchrule", "x@a.com", "deny"},
	} {
		if got := c.MatchRule(tc.hostType, "a.com", tc.rule, mustJID(t, tc.who), nil); got != tc.want {
			t.Errorf("MatchRule(%s, %s, %s) = %q, want %q", tc.hostType, tc.rule, tc.who, got, tc.want)
		}
	}
	if c.MatchRule("other", "a.com", "register", mustJID(t, "bob@a.com"), nil) != Allow {
		t.Error("Allowed: want true")
	}
}

// TestMatchRuleOrderIsAccessFor: evaluation walks the clauses in AccessFor's merged
// order without building it.
// MatchRuleOr tells "no clause matched" (and "defined nowhere") apart from an
// explicit deny, which mod_mam's permission rules need; built-in rules stay fixed.
func TestMatchRuleOr(t *testing.T) {
	c, _ := mustParse(t, aclSrc)
	for _, tc := range []struct{ rule, who, want string }{
		{"no_catch_all", "x@a.com", "default"}, // no clause matches at the top level
		{"nosuchrule", "x@a.com", "default"},   // defined nowhere
		{"register", "alice@a.com", "deny"},    // an explicit deny
		{"max_user_offline_messages", "boss@a.com", "5000"},
		{"none", "x@a.com", "deny"},
	} {
		if got := c.MatchRuleOr("other", "a.com", tc.rule, mustJID(t, tc.who), nil, "default"); got != tc.want {
			t.Errorf("%s for %s: %q, want %q", tc.rule, tc.who, got, tc.want)
		}
	}
}

func TestMatchRuleOrderIsAccessFor(t *testing.T) {
	c, _ := mustParse(t, aclSrc)
	users := []string{"boss@a.com", "carol@a.com", "mallory@a.com", "alice@a.com", "x@b.com"}
	for _, ht := range []string{"basic", "other"} {
		rules := c.AccessFor(ht)
		for rule, clauses := range rules {
			for _, u := range users {
				who := mustJID(t, u)
				want := "deny"
				for _, cl := range clauses {
					if c.ACLMatch(ht, "a.com", cl.ACL, who, nil) {
						want = cl.Value
						break
					}
				}
				if got := c.MatchRule(ht, "a.com", rule, who, nil); got != want {
					t.Errorf("%s %s %s: %q, AccessFor order gives %q", ht, rule, u, got, want)
				}
			}
		}
	}
}

// TestACLCompiledAtLoad: parsed patterns carry their compiled expressions, so
// evaluation compiles nothing (and allocates nothing).
func TestACLCompiledAtLoad(t *testing.T) {
	c, _ := mustParse(t, aclSrc)
	for _, name := range []string{"ae_re", "srv_glob", "res_re"} {
		if c.ACL[name][0].re == nil {
			t.Errorf("%s: not compiled at load", name)
		}
	}
	if raceEnabled {
		return
	}
	who := mustJID(t, "albert@a.com/res1")
	allocs := testing.AllocsPerRun(100, func() {
		c.ACLMatch("basic", "a.com", "ae_re", who, nil)
		c.ACLMatch("basic", "a.com", "ae_glob", who, nil)
		c.MatchRule("basic", "a.com", "c2s", who, nil)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per evaluation", allocs)
	}
}

// Patterns built in code (tests, programmatic configs) work without Compile.
func TestACLPatternBuiltInCode(t *testing.T) {
	p := ACLPattern{UserGlob: "a*", ResourceRegexp: "^m"}
	if !p.Matches("a.com", mustJID(t, "ann@a.com/mobile"), nil) || p.Matches("a.com", mustJID(t, "ann@a.com/desk"), nil) {
		t.Error("uncompiled pattern")
	}
	if err := p.Compile(); err != nil || p.re == nil {
		t.Fatalf("Compile: %v", err)
	}
	bad := ACLPattern{UserRegexp: "("}
	if err := bad.Compile(); err == nil {
		t.Error("Compile accepted an invalid expression")
	}
	if bad.Matches("a.com", mustJID(t, "x@a.com"), nil) {
		t.Error("an invalid expression matched")
	}
}

func TestACLParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, key string }{
		{`[acl]
  x = [{user_glob = "a[bc"}]`, "acl.x[0].user_glob"},
		{`[acl]
  x = [{resource_regexp = "(?<=a)b"}]`, "acl.x[0].resource_regexp"},
		{`[acl]
  x = [{user = "a@b"}]`, "acl.x[0].user"},
	} {
		_, probs, err := Parse([]byte(tc.src))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v", tc.key, err)
			continue
		}
		var keys []string
		for _, p := range probs.Errors() {
			keys = append(keys, p.Key)
		}
		if !slices.Contains(keys, tc.key) {
			t.Errorf("errors %q, want one at %s", keys, tc.key)
		}
	}
}

func TestGlobRegexp(t *testing.T) {
	for _, tc := range []struct {
		glob, s string
		want    bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "axb", false},
		{"*", "", true},
		{"[]x]", "]", true},
		{"[a-c]z", "bz", true},
		{"[!a-c]z", "bz", false},
		{"é*", "été", true},
		{`a\b`, `a\b`, true},
	} {
		re, err := compileExpr(tc.glob, true)
		if err != nil {
			t.Errorf("%q: %v", tc.glob, err)
			continue
		}
		if got := re.MatchString(tc.s); got != tc.want {
			t.Errorf("glob %q on %q = %v, want %v", tc.glob, tc.s, got, tc.want)
		}
	}
}
