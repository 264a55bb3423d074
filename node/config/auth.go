package config

import (
	"math"
	"slices"
)

// authMethods are MongooseIM's authentication methods.
var authMethods = []string{"internal", "rdbms", "external", "anonymous", "ldap", "jwt", "http", "pki", "dummy"}

// storeAuthMethods are served by the embedded store: MongooseIM keeps
// "internal" users in Mnesia and "rdbms" users in SQL; both become the
// replicated bbolt store here.
var storeAuthMethods = []string{"internal", "rdbms"}

// defaultSASLMechanisms is MongooseIM's default auth.sasl_mechanisms.
var defaultSASLMechanisms = []string{
	"scram_sha512_plus", "scram_sha512", "scram_sha384_plus", "scram_sha384",
	"scram_sha256_plus", "scram_sha256", "scram_sha224_plus", "scram_sha224",
	"scram_sha1_plus", "scram_sha1", "plain", "anonymous", "oauth",
}

// saslMechanisms are all accepted names: the defaults, EXTERNAL, the
// deprecated DIGEST-MD5 and the FAST (XEP-0484) HT-* mechanisms.
var saslMechanisms = slices.Concat(defaultSASLMechanisms, []string{"external", "digest"}, fastMechanisms())

func fastMechanisms() []string {
	var out []string
	for _, alg := range []string{"sha_256", "sha_384", "sha_512", "sha_3_256", "sha_3_384", "sha_3_512"} {
		for _, cb := range []string{"none", "expr"} {
			out = append(out, "ht_"+alg+"_"+cb)
		}
	}
	return out
}

var passwordHashes = []string{"sha", "sha224", "sha256", "sha384", "sha512"}

// defaultAuth is what an absent [auth] section yields.
func defaultAuth() Auth {
	return Auth{
		SASLMechanisms: slices.Clone(defaultSASLMechanisms),
		Password: Password{
			Format:          "scram",
			Hash:            slices.Clone(passwordHashes),
			ScramIterations: 10000,
		},
	}
}

// auth reads an [auth] section (top level or host_config).
func (p *parser) auth(t *tbl) Auth {
	a := defaultAuth()

	// Method subsections ([auth.rdbms], [auth.anonymous], ...) hold options
	// of unimplemented methods or store tuning; they are kept raw.
	var sections []string
	for _, m := range authMethods {
		s := t.sub(m)
		if s == nil {
			continue
		}
		sections = append(sections, m)
		if slices.Contains(storeAuthMethods, m) {
			s.ignore(s.keys()...)
		} else {
			s.accept(s.keys()...)
		}
	}

	if list, ok := t.strList("methods"); ok {
		for i, m := range list {
			key := indexKey(t.key("methods"), i)
			switch {
			case !slices.Contains(authMethods, m):
				p.errorf(key, "must be one of %s, got %q", quoteList(authMethods), m)
			case slices.Contains(a.Methods, m):
				p.errorf(key, "duplicate method %q", m)
			default:
				a.Methods = append(a.Methods, m)
			}
		}
	} else {
		// MongooseIM: the methods whose sections are present, alphabetically.
		a.Methods = slices.Sorted(slices.Values(sections))
	}
	served := false
	for _, m := range a.Methods {
		if slices.Contains(storeAuthMethods, m) {
			served = true
			p.note(t.key("methods") + " \"" + m + "\"")
			continue
		}
		p.warnf(t.key("methods"), "method %q not implemented, ignored", m)
	}
	if !served && !p.hasErrorUnder(t.key("methods")) {
		p.warnf(t.key("methods"), "no implemented auth method (internal or rdbms) configured: no user can log in")
	}

	if list, ok := t.strList("sasl_mechanisms"); ok {
		a.SASLMechanisms = a.SASLMechanisms[:0]
		for i, m := range list {
			key := indexKey(t.key("sasl_mechanisms"), i)
			switch {
			case !slices.Contains(saslMechanisms, m):
				p.errorf(key, "unknown SASL mechanism %q", m)
			case slices.Contains(a.SASLMechanisms, m):
				p.errorf(key, "duplicate mechanism %q", m)
			default:
				a.SASLMechanisms = append(a.SASLMechanisms, m)
			}
		}
	}
	a.MaxUsersPerDomain = int(t.intOrInfinity("max_users_per_domain", 0, 1))

	pw := t.sub("password")
	if pw != nil {
		p.password(pw, &a.Password)
	}
	// Before MongooseIM 6 scram_iterations sat directly under [auth].
	if t.has("scram_iterations") {
		if pw != nil && pw.has("scram_iterations") {
			p.errorf(t.key("scram_iterations"), "conflicts with password.scram_iterations")
		}
		a.Password.ScramIterations = int(t.integer("scram_iterations", 10000, 1, math.MaxInt32))
	}
	t.ignore("sasl_external")
	if s := t.sub("sasl_external_common_name"); s != nil {
		s.ignore("prefix", "suffix")
		s.finish()
	}
	t.finish()
	return a
}

func (p *parser) password(t *tbl, pw *Password) {
	pw.Format = t.enum("format", "scram", "scram", "plain")
	if list, ok := t.strList("hash"); ok {
		pw.Hash = pw.Hash[:0]
		for i, h := range list {
			key := indexKey(t.key("hash"), i)
			switch {
			case !slices.Contains(passwordHashes, h):
				p.errorf(key, "must be one of %s, got %q", quoteList(passwordHashes), h)
			case slices.Contains(pw.Hash, h):
				p.errorf(key, "duplicate hash %q", h)
			default:
				pw.Hash = append(pw.Hash, h)
			}
		}
		if len(list) == 0 {
			p.errorf(t.key("hash"), "must not be empty")
		}
	}
	pw.ScramIterations = int(t.integer("scram_iterations", 10000, 1, math.MaxInt32))
	t.finish()
}
