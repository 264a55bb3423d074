package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
)

// Access rule evaluation, as MongooseIM's acl module does it: a rule is
// evaluated for a JID in the context of one domain (the "current domain",
// usually the JID's own) and the host type that domain belongs to. The ACL
// classes and rule clauses of that host type are the top level's merged with
// its [[host_config]] (see ACLFor and AccessFor); evaluation walks them in
// place, without building the merged maps, because it runs on hot paths
// (every offline message, every resource binding).

// Rule values with a fixed meaning.
const (
	Allow = "allow"
	Deny  = "deny"
)

// Hosted tells which domains the server serves: static hosts and enabled
// dynamic domains (node.Directory implements it). ACL patterns with
// match = "any_hosted_domain" ask it.
type Hosted interface {
	HostTypeOf(domain string) (hostType string, ok bool)
}

// MatchRule returns the value of access rule rule for who, evaluated for domain
// of host type hostType: the value of the first clause whose ACL class
// matches, "deny" when none does or the rule is defined nowhere. The rule
// names "all" and "none" are built in ("allow" and "deny" whatever [access]
// says), as in MongooseIM. who must be normalised (jid.JID values are).
// hosted must answer for static hosts too; nil means only general.hosts
// count as hosted domains.
func (c *Config) MatchRule(hostType, domain, rule string, who jid.JID, hosted Hosted) string {
	return c.MatchRuleOr(hostType, domain, rule, who, hosted, Deny)
}

// MatchRuleOr is MatchRule with def in place of "deny" when no clause matches or
// the rule is defined nowhere: MongooseIM's acl:match_rule/5, which mod_mam uses to
// tell "the configuration says nothing" from "deny".
func (c *Config) MatchRuleOr(hostType, domain, rule string, who jid.JID, hosted Hosted, def string) string {
	switch rule {
	case "all":
		return Allow
	case "none":
		return Deny
	}
	global := c.Access[rule]
	var local []AccessClause
	if hc, ok := c.HostConfig(hostType); ok {
		local = hc.Access[rule]
	}
	// The order of mergeAccess: a trailing top-level {acl = "all"} clause
	// goes after the host_config's clauses.
	head, tail := global, []AccessClause(nil)
	if n := len(global); n > 0 && len(local) > 0 && global[n-1].ACL == "all" {
		head, tail = global[:n-1], global[n-1:]
	}
	for _, part := range [3][]AccessClause{head, local, tail} {
		for _, cl := range part {
			if c.ACLMatch(hostType, domain, cl.ACL, who, hosted) {
				return cl.Value
			}
		}
	}
	return def
}

// ACLMatch reports whether who belongs to ACL class acl for domain of host
// type hostType: whether any pattern of the class (top level and host_config
// unioned) matches. "all" matches every JID and "none" none; a class defined
// nowhere matches nobody.
func (c *Config) ACLMatch(hostType, domain, acl string, who jid.JID, hosted Hosted) bool {
	switch acl {
	case "all":
		return true
	case "none":
		return false
	}
	if hosted == nil {
		hosted = (*staticHosts)(c) // a pointer conversion: no allocation
	}
	for i := range c.ACL[acl] {
		if c.ACL[acl][i].Matches(domain, who, hosted) {
			return true
		}
	}
	if hc, ok := c.HostConfig(hostType); ok {
		for i := range hc.ACL[acl] {
			if hc.ACL[acl][i].Matches(domain, who, hosted) {
				return true
			}
		}
	}
	return false
}

// staticHosts is the Hosted of a configuration alone: general.hosts.
type staticHosts Config

func (s *staticHosts) HostTypeOf(domain string) (string, bool) {
	if (*Config)(s).IsStatic(domain) {
		return domain, true
	}
	return "", false
}

// Matches reports whether the pattern matches who when evaluated for domain.
// Every condition set must hold. match = "current_domain" (also the zero
// value) needs who's domain to be domain; "any_hosted_domain" needs it to be
// served here (hosted; nil serves nothing); "all" any domain; "none" never matches. Names are
// compared exactly, regular expressions match anywhere in the name (Erlang's
// re:run is unanchored, so "^" and "$" anchor as there), globs the whole name.
func (p *ACLPattern) Matches(domain string, who jid.JID, hosted Hosted) bool {
	switch p.Match {
	case "", "current_domain":
		if who.Domain() != domain {
			return false
		}
	case "any_hosted_domain":
		if hosted == nil {
			return false
		}
		if _, ok := hosted.HostTypeOf(who.Domain()); !ok {
			return false
		}
	case "all":
	default: // "none"
		return false
	}
	if p.User != "" && p.User != who.Local() ||
		p.Server != "" && p.Server != who.Domain() ||
		p.Resource != "" && p.Resource != who.Resource() {
		return false
	}
	re := p.re
	if re == nil {
		if !p.hasExpressions() {
			return true
		}
		// A pattern built in code rather than parsed: compile now (Compile
		// avoids this); an invalid expression never matches.
		var err error
		if re, err = p.compiled(); err != nil {
			return false
		}
	}
	return matchRe(re.user, who.Local()) && matchRe(re.server, who.Domain()) &&
		matchRe(re.resource, who.Resource()) && matchRe(re.userGlob, who.Local()) &&
		matchRe(re.serverGlob, who.Domain()) && matchRe(re.resourceGlob, who.Resource())
}

func matchRe(re *regexp.Regexp, s string) bool { return re == nil || re.MatchString(s) }

// aclExprs holds a pattern's compiled regular expressions and globs; nil
// entries do not constrain.
type aclExprs struct {
	user, server, resource             *regexp.Regexp
	userGlob, serverGlob, resourceGlob *regexp.Regexp
}

func (p *ACLPattern) hasExpressions() bool {
	return p.UserRegexp != "" || p.ServerRegexp != "" || p.ResourceRegexp != "" ||
		p.UserGlob != "" || p.ServerGlob != "" || p.ResourceGlob != ""
}

// Compile compiles the pattern's regular expressions and globs once, so that
// matching does not. The parser calls it; code that builds patterns may.
func (p *ACLPattern) Compile() error {
	re, err := p.compiled()
	if err != nil {
		return err
	}
	p.re = re
	return nil
}

func (p *ACLPattern) compiled() (*aclExprs, error) {
	var re aclExprs
	for _, f := range []struct {
		dst  **regexp.Regexp
		src  string
		glob bool
	}{
		{&re.user, p.UserRegexp, false}, {&re.server, p.ServerRegexp, false},
		{&re.resource, p.ResourceRegexp, false}, {&re.userGlob, p.UserGlob, true},
		{&re.serverGlob, p.ServerGlob, true}, {&re.resourceGlob, p.ResourceGlob, true},
	} {
		if f.src == "" {
			continue
		}
		r, err := compileExpr(f.src, f.glob)
		if err != nil {
			return nil, err
		}
		*f.dst = r
	}
	return &re, nil
}

// compileExpr compiles a regular expression, or a glob (see globRegexp).
func compileExpr(src string, glob bool) (*regexp.Regexp, error) {
	expr := src
	if glob {
		var err error
		if expr, err = globRegexp(src); err != nil {
			return nil, err
		}
	}
	r, err := regexp.Compile(expr)
	if err != nil {
		if glob {
			return nil, fmt.Errorf("invalid glob pattern %q: %w", src, err)
		}
		return nil, fmt.Errorf("invalid regular expression %q: %w", src, err)
	}
	return r, nil
}

// globRegexp turns a shell glob into an anchored regular expression, the way
// MongooseIM does (xmerl_regexp:sh_to_awk): "*" is any run of characters, "?"
// any one, "[...]" a class ("[!...]" negated); "/" is not special, unlike in
// path.Match, since resources may contain it.
func globRegexp(glob string) (string, error) {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for i := 0; i < len(glob); i++ {
		switch glob[i] {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i + 1
			if j < len(glob) && (glob[j] == '!' || glob[j] == '^') {
				j++
			}
			if j < len(glob) && glob[j] == ']' { // a leading "]" is literal
				j++
			}
			for j < len(glob) && glob[j] != ']' {
				j++
			}
			if j >= len(glob) {
				return "", fmt.Errorf("invalid glob pattern %q: unterminated [", glob)
			}
			class := glob[i+1 : j]
			b.WriteByte('[')
			if class[0] == '!' || class[0] == '^' {
				b.WriteByte('^')
				class = class[1:]
			}
			b.WriteString(strings.ReplaceAll(strings.ReplaceAll(class, `\`, `\\`), `[`, `\[`))
			b.WriteByte(']')
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(glob[i : i+1])) // bytes: UTF-8 passes through
		}
	}
	b.WriteString(`)$`)
	return b.String(), nil
}
