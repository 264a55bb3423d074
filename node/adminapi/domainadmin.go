package adminapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/isolation"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
)

// Domain admins (issue 7; MongooseIM's domain_admin GraphQL endpoint, on the REST
// API). A domain admin authenticates with HTTP Basic "admin@DOMAIN:password", the
// password set with PUT /domains/{domain}/password, and may use only the routes that
// concern its own domain:
//
//   - GET /domains/{domain} and PUT /domains/{domain}/password of its domain;
//   - the per-domain resources (domainAdminPrefixes): users, sessions, contacts,
//     stanzas, and later messages and MUC Light rooms, when every domain the request
//     names (path wildcards, see scopeOf; a stanza's sender) is its domain or one of
//     its subdomains.
//
// Everything else is 403 "...without global admin permissions", and a request naming
// another domain is 403 "...without permissions to the given domain" before the
// handler runs, so the answer is the same whether that domain exists or not. Wrong
// credentials, for a domain that exists or not, are the same 401 as a wrong global
// login.

// DomainAdminUser is the user part of a domain admin's Basic credentials.
const DomainAdminUser = "admin"

// Messages of the 403 answers, after MongooseIM's GraphQL permission errors.
const (
	msgGlobalOnly  = "Cannot execute this request without global admin permissions"
	msgOtherDomain = "Cannot execute this request without permissions to the given domain"
)

// domainPasswords is what domain admin logins need of the backend; *node.Node
// implements it. A backend without it has no domain admins.
type domainPasswords interface {
	CheckDomainPassword(name, password string) bool
}

// storeReader lets the login tell "no password to check" apart, to spend the same
// time on it as on a wrong password; *node.Node implements it.
type storeReader interface {
	View(fn func(tx *bolt.Tx) error) error
}

type domainAdminKey struct{}

// domainAdminOf returns the domain whose admin made the request, or "" for the
// global admin.
func domainAdminOf(ctx context.Context) string {
	d, _ := ctx.Value(domainAdminKey{}).(string)
	return d
}

// domainAdminLogin checks "admin@DOMAIN" Basic credentials. handled is false when
// the user is not of that form; then the caller answers as it always did.
func (a *api) domainAdminLogin(r *http.Request, user, pass string) (_ *http.Request, handled, ok bool) {
	raw, found := strings.CutPrefix(user, DomainAdminUser+"@")
	if !found {
		return r, false, false
	}
	dp, can := a.b.(domainPasswords)
	domain, err := node.NormalizeDomain(raw)
	if !can || err != nil || !dp.CheckDomainPassword(domain, pass) {
		a.equalizeFailure(domain, pass)
		return r, true, false
	}
	return r.WithContext(context.WithValue(r.Context(), domainAdminKey{}, domain)), true, true
}

// dummyIterations is the SCRAM iteration count of the stand-in credential verified
// when there is no password to check: the product's default, so a failed login for
// a domain that has no password (or does not exist) takes as long as a wrong
// password for one that has.
const dummyIterations = scram.DefaultIterations

var dummy = sync.OnceValue(func() scram.Credentials {
	c, _ := scram.Derive("mongoose-go domain admin stand-in", dummyIterations, []scram.Hash{scram.SHA512}, rand.Reader)
	return c
})

// equalizeFailure runs a SCRAM verification when the failed login had none to run.
func (a *api) equalizeFailure(domain, pass string) {
	has := false
	if sr, ok := a.b.(storeReader); ok && domain != "" {
		_ = sr.View(func(tx *bolt.Tx) error {
			_, has = store.DomainPassword(tx, domain)
			return nil
		})
	}
	if _, served := a.b.Directory().HostTypeOf(domain); served && has {
		return
	}
	scram.Verify(dummy(), pass)
}

// domainAdminPrefixes are the resources a domain admin manages within its domain.
var domainAdminPrefixes = []string{"/users/", "/sessions/", "/contacts/", "/stanzas", "/messages", "/muc-lights/"}

// domainAdminRoutes are single routes of other resources a domain admin may use.
var domainAdminRoutes = map[string]bool{
	"GET /domains/{domain}":          true,
	"PUT /domains/{domain}/password": true,
}

// jidWildcards are path wildcards holding JIDs, whose domain must be the admin's
// (a room's service subdomain counts as its parent, as in domain isolation).
var jidWildcards = map[string]bool{"user": true, "contact": true, "jid": true, "owner": true, "room": true, "with": true}

// scoped guards one route (pattern as given to route) against domain admins. The
// global admin passes untouched.
func (a *api) scoped(pattern string, h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	method, path, _ := strings.Cut(pattern, " ")
	allowed := domainAdminRoutes[pattern]
	for _, p := range domainAdminPrefixes {
		allowed = allowed || strings.HasPrefix(path, p)
	}
	wildcards := wildcardsOf(path)
	sender := method == "POST" && path == "/stanzas"
	// A route of a per-domain resource that names no domain (a listing across
	// domains, say) stays global.
	allowed = allowed && (sender || len(wildcards) > 0 && scopeNamed(wildcards))
	return func(w http.ResponseWriter, r *http.Request) error {
		d := domainAdminOf(r.Context())
		if d == "" {
			return h(w, r)
		}
		if !allowed {
			return errorf(http.StatusForbidden, msgGlobalOnly)
		}
		for _, name := range wildcards {
			if !a.owns(d, name, r.PathValue(name)) {
				return errorf(http.StatusForbidden, msgOtherDomain)
			}
		}
		if sender {
			if err := a.ownsSender(d, r); err != nil {
				return err
			}
		}
		return h(w, r)
	}
}

// scopeNamed reports whether the wildcards name a domain.
func scopeNamed(wildcards []string) bool {
	for _, n := range wildcards {
		if n == "domain" || jidWildcards[n] {
			return true
		}
	}
	return false
}

// wildcardsOf lists the wildcard names of a ServeMux path pattern.
func wildcardsOf(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if n, ok := strings.CutPrefix(seg, "{"); ok {
			n = strings.TrimSuffix(strings.TrimSuffix(n, "}"), "...")
			out = append(out, n)
		}
	}
	return out
}

// owns reports whether wildcard name's value v is within domain d. Values of other
// wildcards (username, resource) are not addresses. An empty value (an optional
// segment) names nothing; an invalid one is refused, revealing nothing.
func (a *api) owns(d, name, v string) bool {
	switch {
	case v == "":
		return true
	case name == "domain":
		// /muc-lights/{domain} names the room service (muclight.a.com), which belongs
		// to its parent's tenant.
		got, err := node.NormalizeDomain(v)
		return err == nil && a.inDomain(d, got)
	case jidWildcards[name]:
		j, err := jid.Parse(v)
		return err == nil && a.inDomain(d, j.Domain())
	}
	return true
}

// inDomain: the domain itself or one of its service subdomains (isolation.Parent).
func (a *api) inDomain(d, domain string) bool {
	return domain == d || isolation.Parent(a.b.Directory(), domain) == d
}

// ownsSender checks the sender of POST /stanzas and puts the body back for the
// handler. A body the handler would refuse anyway is left to it, so the domain admin
// gets the global admin's validation messages.
func (a *api) ownsSender(d string, r *http.Request) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return errorf(http.StatusBadRequest, "Invalid request body")
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	probe := r.Clone(r.Context())
	probe.Body = io.NopCloser(bytes.NewReader(data))
	body, err := parseBody(probe)
	if err != nil {
		return nil
	}
	raw, err := field[string](body, "stanza", "")
	if err != nil {
		return nil
	}
	el, err := parseStanza(raw)
	if err != nil {
		return nil
	}
	from, err := jid.Parse(el.Attr("from"))
	if err != nil || from.IsZero() {
		return nil
	}
	if !a.inDomain(d, from.Domain()) {
		return errorf(http.StatusForbidden, msgOtherDomain)
	}
	return nil
}
