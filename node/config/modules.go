package config

import (
	"math"
	"net/netip"
	"slices"
	"strings"
)

// Module is one enabled module with its options as written in the file
// (TOML integers are int64). The accessors take dotted paths into nested
// tables, e.g. m.Int("async_writer.batch_size", 30).
type Module struct {
	Name string
	Opts map[string]any
}

// Has reports whether the option at path is set.
func (m Module) Has(path string) bool {
	_, ok := m.lookup(path)
	return ok
}

// Int returns the integer option at path, def when unset. "infinity" yields
// 0, the package's convention for unlimited.
func (m Module) Int(path string, def int) int {
	switch v, _ := m.lookup(path); x := v.(type) {
	case int64:
		return int(x)
	case string:
		if x == "infinity" {
			return 0
		}
	}
	return def
}

// String returns the string option at path, def when unset.
func (m Module) String(path, def string) string {
	if s, ok := m.lookupAs(path).(string); ok {
		return s
	}
	return def
}

// Bool returns the boolean option at path, def when unset.
func (m Module) Bool(path string, def bool) bool {
	if b, ok := m.lookupAs(path).(bool); ok {
		return b
	}
	return def
}

// Strings returns the string-array option at path (nil when unset).
func (m Module) Strings(path string) []string {
	list, _ := m.lookupAs(path).([]any)
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Sub returns the subsection at path (e.g. mod_mam's "pm") as a Module of
// the same name; ok is false when it is not set. A present but empty
// subsection (pm = {}) is ok: for mod_mam that enables the archive.
func (m Module) Sub(path string) (Module, bool) {
	t, ok := m.lookupAs(path).(map[string]any)
	if !ok {
		return Module{}, false
	}
	return Module{Name: m.Name, Opts: t}, true
}

func (m Module) lookupAs(path string) any {
	v, _ := m.lookup(path)
	return v
}

func (m Module) lookup(path string) (any, bool) {
	cur := m.Opts
	parts := strings.Split(path, ".")
	for i, part := range parts {
		v, ok := cur[part]
		if !ok {
			return nil, false
		}
		if i == len(parts)-1 {
			return v, true
		}
		if cur, ok = v.(map[string]any); !ok {
			return nil, false
		}
	}
	return nil, false
}

// ExpandHost substitutes domain for "@HOST@" in a subdomain pattern such as
// mod_muc_light's host "muclight.@HOST@".
func ExpandHost(pattern, domain string) string {
	return strings.ReplaceAll(pattern, "@HOST@", domain)
}

// modules reads a modules table. It returns the implemented modules and the
// names of every configured module (for the dynamic-domains check).
func (p *parser) modules(t *tbl) (map[string]Module, []string) {
	out := map[string]Module{}
	var names []string
	for _, name := range t.keys() {
		v, _ := t.raw(name)
		mt, ok := p.asTable(t.key(name), v)
		if !ok {
			continue
		}
		switch {
		case IsImplementedModule(name):
			names = append(names, name)
			p.moduleOpts(mt, moduleSpecs[name])
			switch name {
			case "mod_muc_light":
				p.checkConfigSchema(mt)
			case "mod_register":
				p.checkIPAccess(mt)
			}
			out[name] = Module{Name: name, Opts: mt.m}
		case slices.Contains(knownModules, name):
			names = append(names, name)
			p.warnf(mt.path, "module not implemented, ignored")
		default:
			p.errorf(mt.path, "unknown module")
		}
	}
	return out, names
}

// moduleOpts checks a module's options against its spec. Unknown options
// are warnings: this product's knowledge of each module's option list is
// what MongooseIM documents, and a newer option must not stop start-up.
func (p *parser) moduleOpts(t *tbl, s spec) {
	for _, k := range t.keys() {
		o, known := s[k]
		if !known {
			continue
		}
		v, _ := t.raw(k)
		key := t.key(k)
		if o.removed != "" {
			p.warnf(key, "%s, ignored", o.removed)
			continue
		}
		p.checkOpt(key, v, o)
	}
	t.finishLenient()
}

func (p *parser) checkOpt(key string, v any, o opt) {
	n, isInt := v.(int64)
	s, isStr := v.(string)
	switch o.kind {
	case kAny:
	case kBool:
		if _, ok := v.(bool); !ok {
			p.errorf(key, "must be a boolean, got %s", valueText(v))
		}
	case kString:
		if !isStr {
			p.errorf(key, "must be a string, got %s", valueText(v))
		}
	case kInt:
		if !isInt {
			p.errorf(key, "must be an integer, got %s", valueText(v))
		}
	case kFloat:
		if _, ok := v.(float64); !ok && !isInt {
			p.errorf(key, "must be a number, got %s", valueText(v))
		}
	case kPosInt, kNonNegInt:
		lo := lowBound(o.kind)
		if !isInt || n < lo {
			p.errorf(key, "must be %s, got %s", rangeText(lo, math.MaxInt64), valueText(v))
		}
	case kPosIntOr, kNonNegIntOr:
		lo := lowBound(o.kind)
		if !(isInt && n >= lo) && !(isStr && slices.Contains(o.words, s)) {
			p.errorf(key, "must be %s or %s, got %s", rangeText(lo, math.MaxInt64), orList(o.words), valueText(v))
		}
	case kEnum:
		if !isStr || !slices.Contains(o.words, s) {
			p.errorf(key, "must be one of %s, got %s", quoteList(o.words), valueText(v))
		}
	case kStrList:
		list, ok := v.([]any)
		if !ok {
			p.errorf(key, "must be an array of strings, got %s", typeName(v))
			return
		}
		for i, it := range list {
			if _, ok := it.(string); !ok {
				p.errorf(indexKey(key, i), "must be a string, got %s", typeName(it))
			}
		}
	case kTable:
		t, ok := p.asTable(key, v)
		if ok && o.sub != nil {
			p.moduleOpts(t, o.sub)
		}
	case kTableList:
		items, _ := p.asTableList(key, v)
		for _, t := range items {
			p.moduleOpts(t, o.sub)
		}
	case kSubdomain:
		if !isStr {
			p.errorf(key, "must be a string, got %s", typeName(v))
			return
		}
		// Check the pattern as it would expand for a real domain.
		if _, err := NormalizeDomain(ExpandHost(s, "example.com")); err != nil {
			p.errorf(key, "not a valid subdomain pattern: %v", err)
		}
	}
}

// orList renders words as `"a"` or `one of "a", "b"`.
func orList(words []string) string {
	if len(words) == 1 {
		return quoteList(words)
	}
	return "one of " + quoteList(words)
}

func lowBound(k optKind) int64 {
	if k == kNonNegInt || k == kNonNegIntOr {
		return 0
	}
	return 1
}

// tableItems returns the tables of an array of tables in either decoded
// form; anything else yields nil (reported by checkOpt).
func tableItems(v any) []map[string]any {
	switch x := v.(type) {
	case []map[string]any:
		return x
	case []any:
		var out []map[string]any
		for _, it := range x {
			if m, ok := it.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// checkConfigSchema enforces mod_muc_light's config_schema item shape:
// a field name and exactly one typed default value.
func (p *parser) checkConfigSchema(t *tbl) {
	for i, m := range tableItems(t.m["config_schema"]) {
		key := indexKey(t.key("config_schema"), i)
		if _, ok := m["field"]; !ok {
			p.errorf(key+".field", "required")
		}
		n := 0
		for _, vk := range []string{"string_value", "integer_value", "float_value", "boolean_value"} {
			if _, ok := m[vk]; ok {
				n++
			}
		}
		if n != 1 {
			p.errorf(key, "must have exactly one of string_value, integer_value, float_value, boolean_value (has %d)", n)
		}
	}
}

// checkIPAccess validates mod_register's ip_access entries: an address
// (single IP or CIDR prefix) and a policy are required.
func (p *parser) checkIPAccess(t *tbl) {
	for i, e := range tableItems(t.m["ip_access"]) {
		key := indexKey(t.key("ip_access"), i)
		if _, ok := e["policy"]; !ok {
			p.errorf(key+".policy", "required")
		}
		a, isStr := e["address"].(string)
		if !isStr {
			if _, ok := e["address"]; !ok {
				p.errorf(key+".address", "required")
			}
			continue
		}
		if _, err := netip.ParsePrefix(a); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(a); err == nil {
			continue
		}
		p.errorf(key+".address", "not an IP address or CIDR prefix: %q", a)
	}
}
