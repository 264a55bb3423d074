// Package config parses mongoose-go's configuration: MongooseIM's TOML format
// (so a MongooseIM config file loads as is) plus a [cluster] section of its
// own. Keys this product does not implement are reported as warnings, never
// silently dropped; wrong values of implemented keys are errors naming the
// key's full dotted path. docs/config.md lists every key.
package config

import (
	"log/slog"
	"slices"
	"time"
)

// Config is one parsed configuration file. Throughout, an integer limit of 0
// stands for MongooseIM's "infinity".
type Config struct {
	General  General
	Listen   Listen
	Auth     Auth
	Modules  map[string]Module // implemented modules only, by name
	Shapers  map[string]int    // shaper name -> max_rate
	ACL      map[string][]ACLPattern
	Access   map[string][]AccessClause
	Services map[string]map[string]any // raw options, by service name
	// OutgoingPools holds the raw pool options: type -> tag -> options.
	OutgoingPools map[string]map[string]map[string]any
	HostConfigs   []HostConfig
	Cluster       Cluster
	// Instrumentation is [instrumentation] (instrumentation.go).
	Instrumentation Instrumentation

	// EmbeddedStoreNotes lists the configured keys that MongooseIM would
	// serve from a database and this product serves from its embedded
	// replicated store (e.g. "auth.methods: rdbms",
	// "outgoing_pools.rdbms.default"). Log EmbeddedStoreLine once.
	EmbeddedStoreNotes []string
}

// General is the [general] section.
type General struct {
	Loglevel            string
	Hosts               []string // static domains, nameprepped (lowercase)
	HostTypes           []string // host types usable by dynamic domains
	DefaultServerDomain string
	// RegistrationTimeout limits in-band registrations per IP; 0 = infinity.
	RegistrationTimeout time.Duration
	Language            string
	HideServiceName     bool
	ReplacedWaitTimeout time.Duration
}

// Listen is the [listen] section. Only c2s and http listeners are served;
// s2s and component listeners are reported as warnings.
type Listen struct {
	C2S  []C2SListener
	HTTP []HTTPListener
}

// C2SListener is one [[listen.c2s]].
type C2SListener struct {
	Port           int
	IPAddress      string // default "0.0.0.0" ("::" with ip_version = 6)
	MaxStanzaSize  int    // bytes; 0 = infinity
	StateTimeout   time.Duration
	Shaper         string // a [shaper] name or "none"
	Backlog        int
	MaxConnections int    // 0 = infinity
	Access         string // an [access] rule name or "all"
	// BackwardsCompatibleSession offers the RFC 3921 session IQ.
	BackwardsCompatibleSession bool
	TLS                        *TLSConfig // nil: no TLS configured
}

// TLSConfig is a listener's tls section. Its presence enables TLS.
type TLSConfig struct {
	// Mode is "starttls" (offered), "starttls_required" or "tls" (direct
	// TLS). Always "tls" on HTTP listeners.
	Mode       string
	CertFile   string // empty: the node generates a certificate
	KeyFile    string
	CACertFile string
	// VerifyMode is "peer" (a client certificate, if presented, must chain
	// to CACertFile; clients without one are still accepted, as in
	// MongooseIM), "selfsigned_peer" (presented certificates may be
	// self-signed) or "none".
	VerifyMode string
	// Versions restricts TLS versions: "tlsv1.2", "tlsv1.3" (also the older
	// "tlsv1", "tlsv1.1"). Empty: library defaults.
	Versions []string
}

// HTTPListener is one [[listen.http]]. AdminAPI and Prometheus are nil when
// the listener has no such handler; with neither, callers do not open it.
type HTTPListener struct {
	Port       int
	IPAddress  string
	TLS        *TLSConfig
	AdminAPI   *AdminAPIHandler
	Prometheus *PrometheusHandler
}

// AdminAPIHandler is [[listen.http.handlers.mongoose_admin_api]]: the REST
// admin API as of MongooseIM 6.5.0.
type AdminAPIHandler struct {
	Host     string // "_" = any Host header
	Path     string // mount point, e.g. "/api"
	Username string // with Password: HTTP Basic auth required
	Password string
	Handlers []string // enabled route groups, default all
}

// Auth is an [auth] section (top level or a host_config's full override).
type Auth struct {
	Methods           []string
	SASLMechanisms    []string
	MaxUsersPerDomain int // 0 = infinity
	Password          Password
}

// Password is auth.password.
type Password struct {
	Format          string   // "scram" or "plain"
	Hash            []string // SCRAM hashes kept: sha, sha224, sha256, sha384, sha512
	ScramIterations int
}

// ACLPattern is one element of an [acl] class. Empty fields do not
// constrain; an all-empty pattern with Match "current_domain" (or "") matches
// every user of the current domain. See Matches.
type ACLPattern struct {
	Match                                    string // current_domain, any_hosted_domain, all, none
	User, Server, Resource                   string
	UserRegexp, ServerRegexp, ResourceRegexp string
	UserGlob, ServerGlob, ResourceGlob       string

	re *aclExprs // compiled expressions (Compile); nil: none, or not compiled
}

// AccessClause is one clause of an [access] rule: the first clause whose ACL
// matches gives the rule's value; no match means "deny". Integer values are
// kept in decimal form; see IntValue.
type AccessClause struct {
	ACL   string
	Value string
}

// HostConfig is one [[host_config]], resolved to a host type (a static host's
// host type is its own name).
type HostConfig struct {
	HostType string
	// Auth, when non-nil, replaces the top-level [auth] completely.
	Auth *Auth
	// Modules, when non-nil, replaces the top-level [modules] completely.
	Modules map[string]Module
	// ACL classes are unioned with the top level's; see ACLFor.
	ACL map[string][]ACLPattern
	// Access rules are merged with the top level's; see AccessFor.
	Access map[string][]AccessClause
	// ReplacedWaitTimeout overrides general.replaced_wait_timeout when > 0.
	ReplacedWaitTimeout time.Duration

	key string // "host_config[i]" as written, for problems found later
}

// Cluster is mongoose-go's own [cluster] section, used by the raft cluster.
type Cluster struct {
	NodeName  string   // raft server ID; unique per cluster
	DataDir   string   // bbolt database and raft state
	Listen    string   // host:port of the cluster port (raft + mesh)
	Advertise string   // host:port peers dial; "" = Listen
	Join      []string // host:port of existing members to join at start
	Secret    string   // shared secret peers must prove
}

// AdvertiseAddr is the address peers dial: Advertise, or Listen when unset.
func (c Cluster) AdvertiseAddr() string {
	if c.Advertise != "" {
		return c.Advertise
	}
	return c.Listen
}

// AllHostTypes returns the static hosts (each its own host type) followed by
// general.host_types.
func (c *Config) AllHostTypes() []string {
	return slices.Concat(c.General.Hosts, c.General.HostTypes)
}

// IsStatic reports whether domain is one of general.hosts. domain must
// already be normalised (lowercase); see NormalizeDomain.
func (c *Config) IsStatic(domain string) bool {
	return slices.Contains(c.General.Hosts, domain)
}

// HostConfig returns the [[host_config]] for hostType, if any.
func (c *Config) HostConfig(hostType string) (*HostConfig, bool) {
	for i := range c.HostConfigs {
		if c.HostConfigs[i].HostType == hostType {
			return &c.HostConfigs[i], true
		}
	}
	return nil, false
}

// ModulesFor returns the modules enabled for hostType: its host_config's
// modules when that section is present (a full override, as in MongooseIM),
// otherwise the top-level ones.
func (c *Config) ModulesFor(hostType string) map[string]Module {
	if hc, ok := c.HostConfig(hostType); ok && hc.Modules != nil {
		return hc.Modules
	}
	return c.Modules
}

// AuthFor returns the auth settings for hostType: its host_config's auth
// section when present (a full override), otherwise the top-level one.
func (c *Config) AuthFor(hostType string) Auth {
	if hc, ok := c.HostConfig(hostType); ok && hc.Auth != nil {
		return *hc.Auth
	}
	return c.Auth
}

// ReplacedWaitTimeoutFor returns general.replaced_wait_timeout as
// overridden for hostType.
func (c *Config) ReplacedWaitTimeoutFor(hostType string) time.Duration {
	if hc, ok := c.HostConfig(hostType); ok && hc.ReplacedWaitTimeout > 0 {
		return hc.ReplacedWaitTimeout
	}
	return c.General.ReplacedWaitTimeout
}

// ACLFor returns the ACL classes for hostType: a class defined both at top
// level and in the host_config is the union of both pattern lists.
func (c *Config) ACLFor(hostType string) map[string][]ACLPattern {
	out := make(map[string][]ACLPattern, len(c.ACL))
	for name, pats := range c.ACL {
		out[name] = slices.Clone(pats)
	}
	if hc, ok := c.HostConfig(hostType); ok {
		for name, pats := range hc.ACL {
			out[name] = append(out[name], pats...)
		}
	}
	return out
}

// AccessFor returns the access rules for hostType. A rule defined in both
// places gets the host_config clauses after the top-level ones, but before a
// trailing top-level {acl = "all"} catch-all, which would otherwise shadow
// them (MongooseIM's merge).
func (c *Config) AccessFor(hostType string) map[string][]AccessClause {
	out := make(map[string][]AccessClause, len(c.Access))
	for name, cl := range c.Access {
		out[name] = slices.Clone(cl)
	}
	hc, ok := c.HostConfig(hostType)
	if !ok {
		return out
	}
	for name, local := range hc.Access {
		out[name] = mergeAccess(out[name], local)
	}
	return out
}

func mergeAccess(global, local []AccessClause) []AccessClause {
	n := len(global)
	if n > 0 && global[n-1].ACL == "all" {
		return slices.Concat(global[:n-1], local, global[n-1:])
	}
	return slices.Concat(global, local)
}

// LogLevel maps general.loglevel to slog. enabled is false for "none".
func (g General) LogLevel() (level slog.Level, enabled bool) {
	switch g.Loglevel {
	case "none":
		return slog.LevelError, false
	case "emergency", "alert", "critical", "error":
		return slog.LevelError, true
	case "notice", "info":
		return slog.LevelInfo, true
	case "debug", "all":
		return slog.LevelDebug, true
	}
	return slog.LevelWarn, true
}
