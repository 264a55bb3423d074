package config

import (
	"errors"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const testdata = "../../testdata/config"

func mustParse(t *testing.T, src string) (*Config, Problems) {
	t.Helper()
	c, probs, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c, probs
}

func TestDefault(t *testing.T) {
	c := Default()
	g := c.General
	if !slices.Equal(g.Hosts, []string{"localhost"}) || !slices.Equal(g.HostTypes, []string{"basic"}) {
		t.Errorf("hosts %v host_types %v", g.Hosts, g.HostTypes)
	}
	if g.DefaultServerDomain != "localhost" || g.Loglevel != "warning" {
		t.Errorf("default_server_domain %q loglevel %q", g.DefaultServerDomain, g.Loglevel)
	}
	if g.RegistrationTimeout != 600*time.Second || g.ReplacedWaitTimeout != 2*time.Second || g.Language != "en" {
		t.Errorf("general defaults: %+v", g)
	}

	if len(c.Listen.C2S) != 1 {
		t.Fatalf("c2s listeners: %d", len(c.Listen.C2S))
	}
	l := c.Listen.C2S[0]
	if l.TLS == nil || l.TLS.Mode != "starttls" || l.TLS.CertFile != "" {
		t.Errorf("default c2s TLS %+v, want starttls with a generated certificate", l.TLS)
	}
	l.TLS = nil
	want := C2SListener{
		Port: 5222, IPAddress: "0.0.0.0", MaxStanzaSize: 65536, StateTimeout: 5 * time.Second,
		Shaper: "normal", Backlog: 1024, Access: "c2s", BackwardsCompatibleSession: true,
	}
	if l != want {
		t.Errorf("c2s listener\n got %+v\nwant %+v", l, want)
	}

	if len(c.Listen.HTTP) != 2 {
		t.Fatalf("http listeners: %d", len(c.Listen.HTTP))
	}
	// Metrics on loopback only, like MongooseIM's default (9091, /metrics).
	if m := c.Listen.HTTP[1]; m.Port != 9091 || m.IPAddress != "127.0.0.1" || m.AdminAPI != nil ||
		m.Prometheus == nil || *m.Prometheus != (PrometheusHandler{Host: "_", Path: "/metrics"}) {
		t.Errorf("metrics listener %+v", m)
	}
	if in := c.Instrumentation; !in.Prometheus || in.ProbeInterval != DefaultProbeInterval {
		t.Errorf("instrumentation %+v", in)
	}
	h := c.Listen.HTTP[0]
	if h.Port != 8088 || h.IPAddress != "127.0.0.1" || h.TLS != nil || h.AdminAPI == nil || h.Prometheus != nil {
		t.Fatalf("http listener %+v", h)
	}
	a := h.AdminAPI
	if a.Host != "localhost" || a.Path != "/api" || a.Username != "" || a.Password != "" || !slices.Equal(a.Handlers, adminAPIHandlers) {
		t.Errorf("admin api %+v", a)
	}

	if _, ok := c.Services["service_domain_db"]; !ok {
		t.Error("service_domain_db missing")
	}
	if !slices.Equal(c.Auth.Methods, []string{"rdbms"}) || c.Auth.Password.Format != "scram" || c.Auth.Password.ScramIterations != 10000 {
		t.Errorf("auth %+v", c.Auth)
	}
	wantShapers := map[string]int{"normal": 16384, "fast": 50000, "mam_shaper": 1, "mam_global_shaper": 1000}
	if !maps.Equal(c.Shapers, wantShapers) {
		t.Errorf("shapers %v", c.Shapers)
	}
	// MongooseIM's default modules, less the unimplemented mod_cache_users.
	wantMods := []string{"mod_adhoc", "mod_blocking", "mod_carboncopy", "mod_disco", "mod_last", "mod_offline",
		"mod_presence", "mod_privacy", "mod_private", "mod_register", "mod_roster", "mod_sic",
		"mod_stream_management", "mod_vcard"}
	if got := sortedKeys(c.Modules); !slices.Equal(got, wantMods) {
		t.Errorf("modules %v", got)
	}
	if c.Modules["mod_disco"].Bool("users_can_see_hidden_services", true) {
		t.Error("mod_disco.users_can_see_hidden_services should be false")
	}
	wantCluster := Cluster{NodeName: "mongoose@localhost", DataDir: "./data", Listen: "127.0.0.1:7946", Join: []string{}}
	if cl := c.Cluster; cl.NodeName != wantCluster.NodeName || cl.DataDir != wantCluster.DataDir ||
		cl.Listen != wantCluster.Listen || cl.Advertise != "" || len(cl.Join) != 0 || cl.Secret != "" {
		t.Errorf("cluster %+v", cl)
	}
	if c.Cluster.AdvertiseAddr() != "127.0.0.1:7946" {
		t.Errorf("advertise addr %q", c.Cluster.AdvertiseAddr())
	}
	if c.EmbeddedStoreLine() == "" {
		t.Error("default config uses the embedded store but says nothing")
	}
}

func TestDefaultTOMLProblems(t *testing.T) {
	_, probs := mustParse(t, string(defaultTOML))
	if len(probs) != 1 || probs[0].Key != "modules.mod_cache_users" || probs[0].Severity != Warning {
		t.Errorf("default.toml problems:\n%s", probs)
	}
}

func TestDefaultIsFresh(t *testing.T) {
	a, b := Default(), Default()
	a.General.Hosts[0] = "changed"
	a.Modules["mod_disco"].Opts["users_can_see_hidden_services"] = true
	if b.General.Hosts[0] != "localhost" || b.Modules["mod_disco"].Bool("users_can_see_hidden_services", true) {
		t.Error("Default() values share state")
	}
}

func TestSeed(t *testing.T) {
	c, probs, err := Load(filepath.Join(testdata, "seed.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 0 {
		t.Errorf("seed.toml should load cleanly:\n%s", probs)
	}
	if got := c.AllHostTypes(); !slices.Equal(got, []string{"big-company.example.com", "basic", "advanced"}) {
		t.Errorf("AllHostTypes %v", got)
	}
	if c.General.DefaultServerDomain != "example.com" {
		t.Errorf("default_server_domain %q", c.General.DefaultServerDomain)
	}
	if !c.IsStatic("big-company.example.com") || c.IsStatic("basic") || c.IsStatic("example.com") {
		t.Error("IsStatic")
	}
	l := c.Listen.C2S[0]
	if l.Port != 5222 || l.IPAddress != "0.0.0.0" || l.MaxStanzaSize != 0 || l.Shaper != "none" || l.Access != "all" || l.TLS != nil {
		t.Errorf("c2s %+v", l)
	}
	if a := c.Listen.HTTP[0].AdminAPI; a == nil || a.Path != "/api" || a.Host != "localhost" {
		t.Errorf("admin api %+v", a)
	}
	mam, ok := c.ModulesFor("advanced")["mod_mam"]
	if !ok {
		t.Fatal("advanced has no mod_mam")
	}
	if mam.String("backend", "") != "rdbms" {
		t.Errorf("mod_mam backend %q", mam.String("backend", ""))
	}
	if pm, ok := mam.Sub("pm"); !ok || len(pm.Opts) != 0 {
		t.Errorf("mod_mam.pm = %v %v", pm, ok)
	}
	if _, ok := mam.Sub("muc"); ok {
		t.Error("mod_mam.muc should be unset")
	}
	if mam.Int("max_result_limit", 50) != 50 {
		t.Error("mod_mam.max_result_limit default")
	}
	if n := len(c.ModulesFor("basic")); n != 0 {
		t.Errorf("basic has %d modules, want none", n)
	}
	if got := c.AuthFor("advanced").Methods; !slices.Equal(got, []string{"rdbms"}) {
		t.Errorf("AuthFor(advanced) %v", got)
	}
	if pool := c.OutgoingPools["rdbms"]["default"]; pool["workers"] != int64(5) {
		t.Errorf("rdbms pool %v", pool)
	}
	wantNotes := []string{`auth.methods "rdbms"`, "outgoing_pools.rdbms.default", "services.service_domain_db"}
	if !slices.Equal(c.EmbeddedStoreNotes, wantNotes) {
		t.Errorf("EmbeddedStoreNotes %q", c.EmbeddedStoreNotes)
	}
	line := c.EmbeddedStoreLine()
	if strings.Contains(line, "\n") || !strings.Contains(line, "outgoing_pools.rdbms.default") || strings.Contains(line, "mongooseim_secret") {
		t.Errorf("EmbeddedStoreLine %q", line)
	}
}

func TestMongooseIMDefault(t *testing.T) {
	c, probs, err := Load(filepath.Join(testdata, "mongooseim-default.toml"))
	if err != nil {
		t.Fatalf("MongooseIM's default config must load with warnings only: %v", err)
	}
	for _, key := range []string{
		"listen.s2s[0]", "listen.component[0]", "listen.http[0].handlers.mongoose_bosh_handler",
		"listen.http[0].handlers.mongoose_websocket_handler", "listen.http[2].handlers.mongoose_graphql_handler",
		"modules.mod_cache_users",
		"services.service_bosh", "services.service_mongoose_system_metrics", "instrumentation.log", "s2s",
		"internal_databases.mnesia",
	} {
		if p, ok := probs.Find(key); !ok || p.Severity != Warning {
			t.Errorf("no warning for %s", key)
		}
	}
	if len(c.Listen.HTTP) != 6 || len(c.Listen.C2S) != 1 {
		t.Fatalf("listeners: %d http, %d c2s", len(c.Listen.HTTP), len(c.Listen.C2S))
	}
	for i, h := range c.Listen.HTTP {
		if h.AdminAPI != nil {
			t.Errorf("listen.http[%d] has an admin API", i)
		}
		if (h.Prometheus != nil) != (i == 5) {
			t.Errorf("listen.http[%d] prometheus handler %+v", i, h.Prometheus)
		}
	}
	if _, ok := probs.Find("listen.http[5].handlers.mongoose_prometheus_handler"); ok {
		t.Error("the prometheus handler is implemented: no problem expected")
	}
	if p := c.Listen.HTTP[5].Prometheus; p == nil || p.Path != "/metrics" || p.Host != "_" || !c.Instrumentation.Prometheus {
		t.Errorf("prometheus handler %+v, instrumentation %+v", p, c.Instrumentation)
	}
	if tls := c.Listen.HTTP[1].TLS; tls == nil || tls.Mode != "tls" || tls.VerifyMode != "none" {
		t.Errorf("https listener tls %+v", tls)
	}
	tls := c.Listen.C2S[0].TLS
	if tls == nil || tls.Mode != "starttls" || tls.VerifyMode != "none" || tls.CertFile != "priv/ssl/fake_cert.pem" || tls.KeyFile != "priv/ssl/fake_key.pem" {
		t.Errorf("c2s tls %+v", tls)
	}
	if c.General.RegistrationTimeout != 0 {
		t.Errorf("registration_timeout infinity should be 0, got %v", c.General.RegistrationTimeout)
	}
	if !slices.Equal(c.Auth.Methods, []string{"internal"}) {
		t.Errorf("auth methods default to present sections, got %v", c.Auth.Methods)
	}
	if len(c.Modules) != 14 {
		t.Errorf("modules %v", sortedKeys(c.Modules))
	}
	if n, ok := c.AccessFor("localhost")["max_user_sessions"][0].IntValue(); !ok || n != 10 {
		t.Errorf("max_user_sessions %d %v", n, ok)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, _, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}

func TestCheck(t *testing.T) {
	probs, err := Check(filepath.Join(testdata, "errors", "bad_loglevel.toml"))
	if !errors.Is(err, ErrInvalid) || !probs.HasErrors() {
		t.Fatalf("err %v problems %v", err, probs)
	}
	if !strings.Contains(err.Error(), "error: general.loglevel: must be one of") {
		t.Errorf("error message does not list the problem: %v", err)
	}
	probs, err = Check(filepath.Join(testdata, "mongooseim-default.toml"))
	if err != nil || probs.HasErrors() || len(probs.Warnings()) == 0 {
		t.Errorf("err %v, problems %v", err, probs)
	}
}

func TestProblemString(t *testing.T) {
	cases := []struct {
		p    Problem
		want string
	}{
		{Problem{Error, "general.default_server_domain", "required"}, "error: general.default_server_domain: required"},
		{Problem{Warning, "modules.mod_muc", "module not implemented, ignored"}, "warning: modules.mod_muc: module not implemented, ignored"},
		{Problem{Error, "", "line 3: bad"}, "error: line 3: bad"},
	}
	for _, c := range cases {
		if got := c.p.String(); got != c.want {
			t.Errorf("got %q want %q", got, c.want)
		}
	}
	ps := Problems{cases[1].p, cases[0].p}
	if !ps.HasErrors() || Problems([]Problem{cases[1].p}).HasErrors() {
		t.Error("HasErrors")
	}
	if ps.String() != cases[1].want+"\n"+cases[0].want {
		t.Errorf("Problems.String %q", ps.String())
	}
}

func TestLogLevel(t *testing.T) {
	for _, lv := range logLevels {
		if _, enabled := (General{Loglevel: lv}).LogLevel(); enabled == (lv == "none") {
			t.Errorf("%s: enabled=%v", lv, enabled)
		}
	}
	if l, _ := (General{Loglevel: "debug"}).LogLevel(); l.String() != "DEBUG" {
		t.Errorf("debug -> %v", l)
	}
	if l, _ := (General{Loglevel: "warning"}).LogLevel(); l.String() != "WARN" {
		t.Errorf("warning -> %v", l)
	}
}
