package config

import (
	"math"
	"slices"
)

var poolTypes = []string{"cassandra", "elastic", "http", "ldap", "rabbit", "rdbms", "redis"}

var poolStrategies = []string{"best_worker", "random_worker", "next_worker", "available_worker", "next_available_worker"}

// outgoingPools reads [outgoing_pools.<type>.<tag>]. RDBMS pools are
// checked like MongooseIM checks them, then recorded as served by the
// embedded store: no connection is ever opened. topLevel is false inside
// host_config, where scope is not allowed.
func (p *parser) outgoingPools(t *tbl, topLevel bool) map[string]map[string]map[string]any {
	out := map[string]map[string]map[string]any{}
	for _, typ := range t.keys() {
		v, _ := t.raw(typ)
		tt, ok := p.asTable(t.key(typ), v)
		if !ok {
			continue
		}
		if !slices.Contains(poolTypes, typ) {
			p.errorf(tt.path, "unknown pool type (known: %s)", quoteList(poolTypes))
			continue
		}
		out[typ] = map[string]map[string]any{}
		for _, tag := range tt.keys() {
			pv, _ := tt.raw(tag)
			pt, ok := p.asTable(tt.key(tag), pv)
			if !ok {
				continue
			}
			out[typ][tag] = pt.m
			if typ != "rdbms" {
				p.warnf(pt.path, "%s pools are not implemented, ignored", typ)
				continue
			}
			p.rdbmsPool(pt, topLevel)
			p.note(pt.path)
		}
	}
	return out
}

func (p *parser) rdbmsPool(t *tbl, topLevel bool) {
	if topLevel {
		t.enum("scope", "global", "global", "host_type", "host", "single_host")
	} else if t.has("scope") {
		p.errorf(t.key("scope"), "not allowed inside host_config")
		t.accept("scope")
	}
	t.integer("workers", 10, 1, math.MaxInt32)
	t.enum("strategy", "best_worker", poolStrategies...)
	t.integer("call_timeout", 60000, 1, math.MaxInt64)
	t.intOrInfinity("max_worker_queue_len", 0, 0)
	if c := t.sub("connection"); c != nil {
		if c.required("driver") {
			c.enum("driver", "", "pgsql", "mysql", "cockroachdb", "odbc")
		}
		// Connection details are irrelevant to the embedded store; accept
		// them all so a working MongooseIM file loads unchanged.
		c.accept(c.keys()...)
	} else if !t.has("connection") {
		p.errorf(t.key("connection"), "required")
	}
	t.finishLenient()
}

var knownServices = []string{
	"service_domain_db", "service_bosh", "service_traffic",
	"service_mongoose_system_metrics", "service_admin_extra",
}

// services reads [services.<name>]. service_domain_db is what enables
// dynamic domains; here the embedded store serves it.
func (p *parser) services(root *tbl) map[string]map[string]any {
	out := map[string]map[string]any{}
	t := root.sub("services")
	if t == nil {
		return out
	}
	for _, name := range t.keys() {
		v, _ := t.raw(name)
		st, ok := p.asTable(t.key(name), v)
		if !ok {
			continue
		}
		switch {
		case name == "service_domain_db":
			st.str("db_pool", "global")
			st.integer("event_cleaning_interval", 1800, 1, math.MaxInt64)
			st.integer("event_max_age", 7200, 1, math.MaxInt64)
			st.finishLenient()
			p.note(st.path)
		case slices.Contains(knownServices, name):
			p.warnf(st.path, "service not implemented, ignored")
		default:
			p.errorf(st.path, "unknown service")
			continue
		}
		out[name] = st.m
	}
	return out
}

// internalDatabases reads [internal_databases]: MongooseIM's Mnesia/CETS
// choice, which the embedded replicated store replaces.
func (p *parser) internalDatabases(root *tbl) {
	t := root.sub("internal_databases")
	if t == nil {
		return
	}
	for _, k := range []string{"mnesia", "cets"} {
		if _, ok := t.raw(k); ok {
			p.warnf(t.key(k), "ignored: internal state lives in the embedded replicated store")
		}
	}
	t.finish()
}
