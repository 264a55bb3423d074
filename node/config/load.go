package config

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

//go:embed default.toml
var defaultTOML []byte

// Default returns the built-in configuration: default.toml (embedded),
// parsed by the same code as any file. Each call returns a fresh value.
// default.toml enables the modules MongooseIM's default configuration
// enables, so its only warning is for the unimplemented mod_cache_users
// (tested); those warnings are not returned.
func Default() *Config {
	c, _, err := Parse(defaultTOML)
	if err != nil {
		// default.toml ships with the binary and is covered by tests.
		panic(fmt.Sprintf("config: embedded default.toml: %v", err))
	}
	return c
}

// DefaultTOML returns the embedded default configuration file, e.g. for a
// command that prints a starting point.
func DefaultTOML() []byte { return slices.Clone(defaultTOML) }

// Load reads and parses the configuration file at path. See Parse.
func Load(path string) (*Config, Problems, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	c, probs, err := Parse(data)
	if err != nil {
		return nil, probs, fmt.Errorf("%s: %w", path, err)
	}
	return c, probs, nil
}

// Check parses the file at path for `mongoose-go config check`: it returns
// every problem, and an error when any is an Error.
func Check(path string) (Problems, error) {
	_, probs, err := Load(path)
	return probs, err
}

// Parse parses a configuration file's contents. Problems holds every error
// and warning in file order (per section); the error is non-nil, wraps
// ErrInvalid and lists the errors when any problem is an Error, in which
// case the Config is nil.
func Parse(data []byte) (*Config, Problems, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		prob := Problem{Severity: Error, Msg: err.Error()}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			prob.Msg = fmt.Sprintf("line %d: %s", pe.Position.Line, pe.Message)
		}
		prob.Msg = "not valid TOML: " + prob.Msg
		probs := Problems{prob}
		return nil, probs, probs.asError()
	}
	p := &parser{}
	c := p.config(raw)
	if err := p.probs.asError(); err != nil {
		return nil, p.probs, err
	}
	return c, p.probs, nil
}

// topSections are the top-level sections, in the order they are read.
var topSections = []string{
	"general", "cluster", "listen", "auth", "outgoing_pools", "internal_databases",
	"services", "modules", "instrumentation", "shaper", "acl", "access", "s2s", "host_config",
}

// moduleUse records which modules are configured where, for the
// dynamic-domains check.
type moduleUse struct {
	paths []string
	names [][]string
}

func (m *moduleUse) add(path string, names []string) {
	m.paths = append(m.paths, path)
	m.names = append(m.names, names)
}

func (p *parser) config(raw map[string]any) *Config {
	root := &tbl{p: p, m: raw, used: map[string]bool{}}
	c := &Config{}
	var ls listenState
	var mods moduleUse

	c.General = p.general(root)
	c.Cluster = p.cluster(root)
	c.Listen = p.listen(root, &ls)
	if t := root.sub("auth"); t != nil {
		c.Auth = p.auth(t)
	} else {
		c.Auth = p.auth(p.emptyTable("auth"))
	}
	c.OutgoingPools = map[string]map[string]map[string]any{}
	if t := root.sub("outgoing_pools"); t != nil {
		c.OutgoingPools = p.outgoingPools(t, true)
	}
	p.internalDatabases(root)
	c.Services = p.services(root)
	c.Modules = map[string]Module{}
	if t := root.sub("modules"); t != nil {
		var names []string
		c.Modules, names = p.modules(t)
		mods.add(t.path, names)
	}
	c.Instrumentation = p.instrumentation(root)
	if _, ok := root.raw("s2s"); ok {
		p.warnf("s2s", "section not implemented, ignored")
	}
	c.Shapers = p.shapers(root)
	c.ACL = map[string][]ACLPattern{}
	if t := root.sub("acl"); t != nil {
		c.ACL = p.acl(t)
	}
	c.Access = map[string][]AccessClause{}
	if t := root.sub("access"); t != nil {
		c.Access = p.access(t)
	}
	c.HostConfigs = p.hostConfigs(root, c.General, &mods)

	for _, k := range root.keys() {
		if !slices.Contains(topSections, k) {
			p.warnf(k, "unknown section, ignored")
		}
	}

	p.crossCheck(c, &ls, &mods)
	c.EmbeddedStoreNotes = slices.Clone(p.notes)
	return c
}

// crossCheck runs the checks that need more than one section.
func (p *parser) crossCheck(c *Config, ls *listenState, mods *moduleUse) {
	// MongooseIM's undefined_shapers: a listener naming a missing shaper.
	for _, s := range ls.shapers {
		if _, ok := c.Shapers[s.name]; !ok && s.name != "none" && s.name != "" {
			p.errorf(s.key, "undefined shaper %q: not in [shaper]", s.name)
		}
	}
	// An access rule that does not exist matches nobody: every connection
	// would be denied. MongooseIM starts anyway, so this only warns.
	for _, a := range ls.access {
		if a.name != "all" && a.name != "" && !c.accessRuleDefined(a.name) {
			p.warnf(a.key, "access rule %q is not defined in [access]: every connection will be denied", a.name)
		}
	}
	p.checkListenerAddrs(ls.addrs)
	// MongooseIM's prometheus handler only has metrics to show when the
	// prometheus instrumentation handler is on; here they are always kept.
	if !c.Instrumentation.Prometheus {
		for i, l := range c.Listen.HTTP {
			if l.Prometheus != nil {
				p.warnf(indexKey("listen.http", i)+".handlers.mongoose_prometheus_handler",
					"[instrumentation.prometheus] is not configured; metrics are served anyway")
			}
		}
	}

	if len(c.General.HostTypes) > 0 {
		for i, path := range mods.paths {
			for _, name := range mods.names[i] {
				if slices.Contains(noDynamicDomains, name) {
					p.errorf(joinKey(path, name), "does not support dynamic domains (general.host_types is set)")
				}
			}
		}
	}

	// Access clauses naming an ACL class defined nowhere never match.
	defined := map[string]bool{"all": true, "none": true}
	for name := range c.ACL {
		defined[name] = true
	}
	for _, hc := range c.HostConfigs {
		for name := range hc.ACL {
			defined[name] = true
		}
	}
	check := func(path string, rules map[string][]AccessClause) {
		for _, rule := range sortedKeys(rules) {
			for i, cl := range rules[rule] {
				if cl.ACL != "" && !defined[cl.ACL] {
					p.warnf(joinKey(path, indexKey(rule, i)+".acl"), "ACL class %q is not defined in [acl]: the clause never matches", cl.ACL)
				}
			}
		}
	}
	check("access", c.Access)
	for _, hc := range c.HostConfigs {
		check(hc.key+".access", hc.Access)
	}
}

func (c *Config) accessRuleDefined(name string) bool {
	if _, ok := c.Access[name]; ok {
		return true
	}
	for _, hc := range c.HostConfigs {
		if _, ok := hc.Access[name]; ok {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// note records a key served by the embedded store (once).
func (p *parser) note(s string) {
	if !slices.Contains(p.notes, s) {
		p.notes = append(p.notes, s)
	}
}

// EmbeddedStoreLine is the one log line to print at start-up about
// database-backed settings this product serves from its embedded store;
// empty when there are none.
func (c *Config) EmbeddedStoreLine() string {
	if len(c.EmbeddedStoreNotes) == 0 {
		return ""
	}
	return "served by the embedded replicated store, no database connection is attempted: " +
		strings.Join(c.EmbeddedStoreNotes, ", ")
}
