package config

import (
	"math"
	"strconv"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
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
	// Names are compared in their prepared form, the one JIDs have (MongooseIM
	// preps the pattern's names the same way).
	a.User = p.prepped(t, "user", jid.NormalizeLocal)
	if s := t.str("server", ""); s != "" {
		if d, err := NormalizeDomain(s); err != nil {
			p.errorf(t.key("server"), "%v", err)
		} else {
			a.Server = d
		}
	}
	a.Resource = p.prepped(t, "resource", jid.NormalizeResource)
	a.UserRegexp = p.expr(t, "user_regexp", false)
	a.ServerRegexp = p.expr(t, "server_regexp", false)
	a.ResourceRegexp = p.expr(t, "resource_regexp", false)
	a.UserGlob = p.expr(t, "user_glob", true)
	a.ServerGlob = p.expr(t, "server_glob", true)
	a.ResourceGlob = p.expr(t, "resource_glob", true)
	// Compiled once here, not per evaluation. The expressions were checked
	// one by one above, so that an error names its key.
	_ = a.Compile()
	t.finish()
	return a
}

// expr reads a regular expression or glob option and reports it if it does
// not compile; an invalid one is dropped.
func (p *parser) expr(t *tbl, k string, glob bool) string {
	s := t.str(k, "")
	if s == "" {
		return ""
	}
	if _, err := compileExpr(s, glob); err != nil {
		p.errorf(t.key(k), "%v", err)
		return ""
	}
	return s
}

func (p *parser) prepped(t *tbl, k string, prep func(string) (string, error)) string {
	s := t.str(k, "")
	if s == "" {
		return ""
	}
	out, err := prep(s)
	if err != nil {
		p.errorf(t.key(k), "%v", err)
	}
	return out
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
