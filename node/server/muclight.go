package server

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/xmpp/muclight"
)

// subdomains is the directory the router and the modules use: the node's directory
// plus the service subdomains of modules (muclight.a.com for a.com when mod_muc_light
// runs for a.com's host type). A registered subdomain resolves to its parent's host
// type, so the router hands its stanzas to that host type's filters, where the module
// takes them; it implements isolation.Subdomains, so domain isolation counts it as its
// parent (MongooseIM's subdomain registry, mongoose_domain_api:get_subdomain_info).
// c2s keeps the plain directory: nobody logs in to a service subdomain.
type subdomains struct {
	*node.Directory
	// prefixes maps a host type to its service prefixes ("muclight."), read from the
	// configuration once, before the router starts: lookups take no lock.
	prefixes map[string][]string
	all      []string
}

func newSubdomains(d *node.Directory, cfg *config.Config) *subdomains {
	s := &subdomains{Directory: d, prefixes: make(map[string][]string)}
	for _, ht := range cfg.AllHostTypes() {
		m, ok := cfg.ModulesFor(ht)[muclight.Name]
		if !ok {
			continue
		}
		p, ok := muclight.HostPrefix(m.String("host", muclight.DefaultHost))
		if !ok {
			continue // the module refuses to start with it
		}
		s.prefixes[ht] = append(s.prefixes[ht], p)
		if !slices.Contains(s.all, p) {
			s.all = append(s.all, p)
		}
	}
	return s
}

// HostTypeOf resolves served domains, then registered subdomains of served domains.
func (s *subdomains) HostTypeOf(domain string) (string, bool) {
	if ht, ok := s.Directory.HostTypeOf(domain); ok {
		return ht, true
	}
	if p, ok := s.ParentDomain(domain); ok {
		return s.Directory.HostTypeOf(p)
	}
	return "", false
}

// ParentDomain implements isolation.Subdomains.
func (s *subdomains) ParentDomain(sub string) (string, bool) {
	for _, pre := range s.all {
		p, ok := strings.CutPrefix(sub, pre)
		if !ok || p == "" {
			continue
		}
		if ht, ok := s.Directory.HostTypeOf(p); ok && slices.Contains(s.prefixes[ht], pre) {
			return p, true
		}
	}
	return "", false
}

// mucLightSchemas reads mod_muc_light's config_schema per host type (the config
// loader has checked each item's shape). module.Options has no list-of-tables
// accessor, so the server hands the schemas to the service before modules start.
func mucLightSchemas(cfg *config.Config) map[string][]muclight.SchemaField {
	out := make(map[string][]muclight.SchemaField)
	for _, ht := range cfg.AllHostTypes() {
		m, ok := cfg.ModulesFor(ht)[muclight.Name]
		if !ok {
			continue
		}
		items, ok := m.Opts["config_schema"].([]map[string]any)
		if !ok {
			if list, isList := m.Opts["config_schema"].([]any); isList {
				for _, it := range list {
					if t, ok := it.(map[string]any); ok {
						items = append(items, t)
					}
				}
			}
		}
		if len(items) == 0 {
			continue
		}
		var schema []muclight.SchemaField
		for _, it := range items {
			f := muclight.SchemaField{}
			f.Name, _ = it["field"].(string)
			for _, k := range []string{"string", "integer", "float", "boolean"} {
				if v, ok := it[k+"_value"]; ok {
					f.Type, f.Default = k, fmt.Sprint(v)
				}
			}
			if f.Name != "" && f.Type != "" {
				schema = append(schema, f)
			}
		}
		out[ht] = schema
	}
	return out
}
