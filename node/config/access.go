package config

import (
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// IntValue returns the clause's value as an integer, for rules such as
// max_user_sessions; ok is false for non-numeric values like "allow".
func (c AccessClause) IntValue() (int, bool) {
	n, err := strconv.Atoi(c.Value)
	return n, err == nil
}

// shapers reads [shaper.<name>] max_rate = N.
func (p *parser) shapers(root *tbl) map[string]int {
	out := map[string]int{}
	t := root.sub("shaper")
	if t == nil {
		return out
	}
	for _, name := range t.keys() {
		v, _ := t.raw(name)
		st, ok := p.asTable(t.key(name), v)
		if !ok {
			continue
		}
		if name == "none" {
			p.errorf(st.path, "\"none\" is reserved: it means no shaper")
		}
		if st.required("max_rate") {
			if n := st.integer("max_rate", 0, 1, math.MaxInt32); n > 0 {
				out[name] = int(n)
			}
		}
		st.finish()
	}
	return out
}

var aclMatches = []string{"current_domain", "any_hosted_domain", "all", "none"}

// acl reads an [acl] section: class name -> array of pattern tables.
func (p *parser) acl(t *tbl) map[string][]ACLPattern {
	out := map[string][]ACLPattern{}
	for _, name := range t.keys() {
		v, _ := t.raw(name)
		items, ok := p.asTableList(t.key(name), v)
		if !ok {
			continue
		}
		pats := make([]ACLPattern, 0, len(items))
		for _, it := range items {
			pats = append(pats, p.aclPattern(it))
		}
		out[name] = pats
	}
	return out
}

func (p *parser) aclPattern(t *tbl) ACLPattern {
	var a ACLPattern
	a.Match = t.enum("match", "current_domain", aclMatches...)
	// User names and servers are compared in their normalised (lowercase)
	// form, like MongooseIM's nodeprep/nameprep of the pattern.
	a.User = strings.ToLower(t.str("user", ""))
	if s := t.str("server", ""); s != "" {
		if d, err := NormalizeDomain(s); err != nil {
			p.errorf(t.key("server"), "%v", err)
		} else {
			a.Server = d
		}
	}
	a.Resource = t.str("resource", "")
	a.UserRegexp = p.regexpOpt(t, "user_regexp")
	a.ServerRegexp = p.regexpOpt(t, "server_regexp")
	a.ResourceRegexp = p.regexpOpt(t, "resource_regexp")
	a.UserGlob = p.globOpt(t, "user_glob")
	a.ServerGlob = p.globOpt(t, "server_glob")
	a.ResourceGlob = p.globOpt(t, "resource_glob")
	t.finish()
	return a
}

func (p *parser) regexpOpt(t *tbl, k string) string {
	s := t.str(k, "")
	if _, err := regexp.Compile(s); err != nil {
		p.errorf(t.key(k), "invalid regular expression: %v", err)
	}
	return s
}

func (p *parser) globOpt(t *tbl, k string) string {
	s := t.str(k, "")
	if _, err := path.Match(s, ""); err != nil {
		p.errorf(t.key(k), "invalid glob pattern %q", s)
	}
	return s
}

// access reads an [access] section: rule name -> clauses.
func (p *parser) access(t *tbl) map[string][]AccessClause {
	out := map[string][]AccessClause{}
	for _, name := range t.keys() {
		v, _ := t.raw(name)
		items, ok := p.asTableList(t.key(name), v)
		if !ok {
			continue
		}
		clauses := make([]AccessClause, 0, len(items))
		for _, it := range items {
			var c AccessClause
			if it.required("acl") {
				c.ACL = it.nonEmptyStr("acl", "")
			}
			if it.required("value") {
				switch v, _ := it.raw("value"); x := v.(type) {
				case string:
					c.Value = x
				case int64:
					c.Value = strconv.FormatInt(x, 10)
				default:
					p.errorf(it.key("value"), "must be a string or an integer, got %s", typeName(v))
				}
			}
			it.finish()
			clauses = append(clauses, c)
		}
		out[name] = clauses
	}
	return out
}
