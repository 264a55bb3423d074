package config

import (
	"math"
	"slices"
	"time"
)

var logLevels = []string{"none", "emergency", "alert", "critical", "error", "warning", "notice", "info", "debug", "all"}

// generalIgnored are [general] keys MongooseIM knows that have no meaning
// here (backends of tables this product keeps in its own store, routing
// internals, metrics naming).
var generalIgnored = []string{
	"sm_backend", "component_backend", "s2s_backend", "route_subdomains",
	"routing_modules", "http_server_name", "rdbms_server_type", "domain_certfile",
	"mongooseimctl_access_commands", "all_metrics_are_global", "override",
	"pgsql_users_number_estimate",
}

func (p *parser) general(root *tbl) General {
	g := General{}
	t := root.sub("general")
	if t == nil {
		if !root.has("general") {
			p.errorf("general", "required section missing")
		}
		// With the section absent or broken, still report what is required.
		t = p.emptyTable("general")
	}
	g.Loglevel = t.enum("loglevel", "warning", logLevels...)

	g.Hosts = p.hosts(t)
	g.HostTypes = p.hostTypes(t, g.Hosts)
	if len(g.Hosts) == 0 && len(g.HostTypes) == 0 && !p.hasErrorUnder(t.key("hosts")) && !p.hasErrorUnder(t.key("host_types")) {
		p.errorf(t.key("hosts"), "general.hosts and general.host_types are both empty: at least one domain or host type is required")
	}

	if t.required("default_server_domain") {
		raw := t.str("default_server_domain", "")
		if d, err := NormalizeDomain(raw); err != nil {
			if _, isStr := t.m["default_server_domain"].(string); isStr {
				p.errorf(t.key("default_server_domain"), "%v", err)
			}
		} else {
			g.DefaultServerDomain = d
		}
	}

	g.RegistrationTimeout = time.Duration(t.intOrInfinity("registration_timeout", 600, 1)) * time.Second
	g.Language = t.nonEmptyStr("language", "en")
	g.HideServiceName = t.boolean("hide_service_name", false)
	g.ReplacedWaitTimeout = time.Duration(t.integer("replaced_wait_timeout", 2000, 1, math.MaxInt64)) * time.Millisecond
	if _, ok := t.raw("max_fsm_queue"); ok {
		p.warnf(t.key("max_fsm_queue"), "removed in MongooseIM 6.4.0, ignored")
	}
	t.ignore(generalIgnored...)
	t.finish()
	return g
}

// hosts reads general.hosts: each nameprepped, no duplicates after
// normalisation ("Example.COM" and "example.com" are the same domain).
func (p *parser) hosts(t *tbl) []string {
	list, _ := t.strList("hosts")
	out := make([]string, 0, len(list))
	seen := map[string]bool{}
	for i, h := range list {
		key := indexKey(t.key("hosts"), i)
		d, err := NormalizeDomain(h)
		if err != nil {
			p.errorf(key, "%v", err)
			continue
		}
		if seen[d] {
			p.errorf(key, "duplicate host %q", d)
			continue
		}
		seen[d] = true
		out = append(out, d)
	}
	return out
}

// hostTypes reads general.host_types: free-form non-empty names, unique, and
// disjoint from the static hosts (whose host type is their own name).
func (p *parser) hostTypes(t *tbl, hosts []string) []string {
	list, _ := t.strList("host_types")
	out := make([]string, 0, len(list))
	seen := map[string]bool{}
	for _, h := range hosts {
		seen[h] = true
	}
	for i, ht := range list {
		key := indexKey(t.key("host_types"), i)
		switch {
		case ht == "":
			p.errorf(key, "must not be empty")
		case seen[ht] && slices.Contains(hosts, ht):
			p.errorf(key, "host type %q is also a static host in general.hosts", ht)
		case seen[ht]:
			p.errorf(key, "duplicate host type %q", ht)
		default:
			seen[ht] = true
			out = append(out, ht)
		}
	}
	return out
}
