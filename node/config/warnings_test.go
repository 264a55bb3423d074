package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

const minimal = `
[general]
  hosts = ["localhost"]
  default_server_domain = "localhost"
[auth]
  methods = ["rdbms"]
`

// TestWarnings checks that accepted-but-unimplemented settings load, each
// with a warning naming its key.
func TestWarnings(t *testing.T) {
	cases := []struct {
		name, src, key, msg string
	}{
		{"unimplemented module", "[modules.mod_muc]\n  host = \"conference.@HOST@\"", "modules.mod_muc", "not implemented"},
		{"unknown top-level section", "[frobnicate]\n  x = 1", "frobnicate", "unknown section"},
		{"unknown module option", "[modules.mod_roster]\n  versioning = true\n  colour = \"blue\"", "modules.mod_roster.colour", "unknown option"},
		{"removed module option", "[modules.mod_muc_light]\n  legacy_mode = true", "modules.mod_muc_light.legacy_mode", "removed"},
		{"unimplemented http handler", "[[listen.http]]\n  port = 5280\n  [[listen.http.handlers.mongoose_bosh_handler]]\n    host = \"_\"\n    path = \"/http-bind\"",
			"listen.http[0].handlers.mongoose_bosh_handler", "not implemented"},
		{"s2s listener", "[[listen.s2s]]\n  port = 5269", "listen.s2s[0]", "not implemented"},
		{"ignored listener key", "[[listen.c2s]]\n  port = 5222\n  num_acceptors = 10", "listen.c2s[0].num_acceptors", "ignored"},
		{"ignored general key", "[general]\n  sm_backend = \"cets\"", "general.sm_backend", "ignored"},
		{"removed general key", "[general]\n  max_fsm_queue = 1000", "general.max_fsm_queue", "removed"},
		{"non-rdbms pool", "[outgoing_pools.redis.default]\n  workers = 2", "outgoing_pools.redis.default", "not implemented"},
		{"undefined access rule", "[[listen.c2s]]\n  port = 5222\n  access = \"c2s\"", "listen.c2s[0].access", "not defined"},
		{"undefined acl class", "[access]\n  c2s = [{acl = \"blocked\", value = \"deny\"}]", "access.c2s[0].acl", "not defined"},
		{"open admin api", "[[listen.http]]\n  port = 8088\n  [[listen.http.handlers.mongoose_admin_api]]\n    host = \"_\"\n    path = \"/api\"",
			"listen.http[0].handlers.mongoose_admin_api", "open to the network"},
		{"cluster without secret", "[cluster]\n  listen = \"10.0.0.1:7946\"", "cluster.secret", "not authenticated"},
		{"host_config s2s", "[[host_config]]\n  host = \"localhost\"\n  [host_config.s2s]\n    default_policy = \"allow\"", "host_config[0].s2s", "not implemented"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := minimal + c.src
			// The [general] cases extend the section rather than repeat it.
			if rest, ok := strings.CutPrefix(c.src, "[general]\n"); ok {
				src = strings.Replace(minimal, "[auth]", rest+"\n[auth]", 1)
			}
			_, probs := mustParse(t, src)
			p, ok := probs.Find(c.key)
			if !ok || p.Severity != Warning || !strings.Contains(p.Msg, c.msg) {
				t.Errorf("want warning %q at %s, got:\n%s", c.msg, c.key, probs)
			}
		})
	}
}

func TestNoAuthMethodWarns(t *testing.T) {
	_, probs := mustParse(t, "[general]\n  hosts = [\"a\"]\n  default_server_domain = \"a\"\n[auth.anonymous]\n")
	want := []string{
		`warning: auth.methods: method "anonymous" not implemented, ignored`,
		"warning: auth.methods: no implemented auth method (internal or rdbms) configured: no user can log in",
	}
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q", got)
	}
}

func TestListenerOptions(t *testing.T) {
	c, probs := mustParse(t, minimal+`
[shaper.fast]
  max_rate = 50_000
[[listen.c2s]]
  port = 5223
  ip_version = 6
  max_stanza_size = "infinity"
  max_connections = 100
  state_timeout = 10_000
  backlog = 10
  shaper = "fast"
  backwards_compatible_session = false
  tls.mode = "tls"
  tls.certfile = "c.pem"
  tls.keyfile = "k.pem"
  tls.cacertfile = "ca.pem"
  tls.versions = ["tlsv1.3"]
[[listen.c2s]]
  port = 5222
  c2s_state_timeout = "infinity"
[[listen.http]]
  ip_address = "::1"
  port = 8088
  tls.certfile = "c.pem"
  tls.keyfile = "k.pem"
  [[listen.http.handlers.mongoose_admin_api]]
    host = "_"
    path = "/api"
    username = "admin"
    password = "secret"
    handlers = ["domain", "users"]
`)
	if probs.HasErrors() || len(probs) != 0 {
		t.Errorf("problems:\n%s", probs)
	}
	l := c.Listen.C2S[0]
	if l.IPAddress != "::" || l.MaxStanzaSize != 0 || l.MaxConnections != 100 || l.StateTimeout != 10*time.Second ||
		l.Backlog != 10 || l.Shaper != "fast" || l.BackwardsCompatibleSession {
		t.Errorf("c2s %+v", l)
	}
	want := TLSConfig{Mode: "tls", CertFile: "c.pem", KeyFile: "k.pem", CACertFile: "ca.pem", VerifyMode: "peer", Versions: []string{"tlsv1.3"}}
	if tls := l.TLS; tls == nil || tls.Mode != want.Mode || tls.CertFile != want.CertFile || tls.KeyFile != want.KeyFile ||
		tls.CACertFile != want.CACertFile || tls.VerifyMode != want.VerifyMode || !slices.Equal(tls.Versions, want.Versions) {
		t.Errorf("tls %+v", l.TLS)
	}
	if d := c.Listen.C2S[1].StateTimeout; d != 0 {
		t.Errorf("c2s_state_timeout infinity = %v, want 0", d)
	}
	h := c.Listen.HTTP[0]
	if h.TLS == nil || h.TLS.Mode != "tls" || h.AdminAPI == nil || h.AdminAPI.Username != "admin" ||
		!slices.Equal(h.AdminAPI.Handlers, []string{"domain", "users"}) {
		t.Errorf("http %+v %+v", h, h.AdminAPI)
	}
}

func TestModuleAccessors(t *testing.T) {
	c, _ := mustParse(t, minimal+`
[modules.mod_mam]
  max_result_limit = 100
  delete_domain_limit = "infinity"
  async_writer.batch_size = 64
  async_writer.enabled = false
  muc.host = "muclight.@HOST@"
[modules.mod_disco]
  extra_domains = ["a.example", "b.example"]
`)
	m := c.Modules["mod_mam"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"Int", m.Int("max_result_limit", 50), 100},
		{"Int default", m.Int("default_result_limit", 50), 50},
		{"Int infinity", m.Int("delete_domain_limit", 7), 0},
		{"Int nested", m.Int("async_writer.batch_size", 30), 64},
		{"Int through scalar", m.Int("max_result_limit.x", 1), 1},
		{"Bool nested", m.Bool("async_writer.enabled", true), false},
		{"Bool default", m.Bool("async_writer.missing", true), true},
		{"String nested", m.String("muc.host", ""), "muclight.@HOST@"},
		{"String wrong type", m.String("max_result_limit", "d"), "d"},
		{"Has", m.Has("muc"), true},
		{"Has missing", m.Has("pm"), false},
		{"ExpandHost", ExpandHost(m.String("muc.host", ""), "example.com"), "muclight.example.com"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v want %v", ch.name, ch.got, ch.want)
		}
	}
	if got := c.Modules["mod_disco"].Strings("extra_domains"); !slices.Equal(got, []string{"a.example", "b.example"}) {
		t.Errorf("Strings %v", got)
	}
	if !IsImplementedModule("mod_mam") || IsImplementedModule("mod_muc") || len(ImplementedModules()) != len(implementedModules) {
		t.Error("implemented module list")
	}
}

func TestNormalizeDomain(t *testing.T) {
	good := map[string]string{
		"Example.COM":           "example.com",
		"localhost":             "localhost",
		"xn--bcher-kva.example": "bücher.example",
		"BÜCHER.example":        "bücher.example",
	}
	for in, want := range good {
		if got, err := NormalizeDomain(in); err != nil || got != want {
			t.Errorf("%q -> %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a b", "a..b", "a@b", "a/b", "\xff", "-a.com", strings.Repeat("a", 1024)} {
		if got, err := NormalizeDomain(bad); err == nil {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
}

func TestAddrsOverlap(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "127.0.0.2", false},
		{"0.0.0.0", "127.0.0.1", true},
		{"::", "127.0.0.1", true},
		{"::1", "127.0.0.1", false},
		{"0.0.0.0", "::1", false},
		{"::", "::1", true},
	}
	for _, c := range cases {
		a, b := netip.MustParseAddr(c.a), netip.MustParseAddr(c.b)
		if got := addrsOverlap(a, b); got != c.want {
			t.Errorf("%s vs %s: %v", c.a, c.b, got)
		}
		if got := addrsOverlap(b, a); got != c.want {
			t.Errorf("%s vs %s: %v", c.b, c.a, got)
		}
	}
}
