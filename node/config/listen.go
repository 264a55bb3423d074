package config

import (
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// listenerShaper records one listener's shaper reference, checked against
// [shaper] once everything is parsed (MongooseIM's undefined_shapers).
type listenerShaper struct {
	key, name string
}

// listenerAddr records one listener's bind address for the port clash check.
type listenerAddr struct {
	key  string // the listener's port key
	ip   netip.Addr
	port int
}

// listenState carries cross-references out of the listen section.
type listenState struct {
	shapers []listenerShaper
	addrs   []listenerAddr
	access  []listenerShaper // access rule references (same shape)
}

func (p *parser) listen(root *tbl, st *listenState) Listen {
	var l Listen
	t := root.sub("listen")
	if t == nil {
		return l
	}
	for _, typ := range t.keys() {
		v, _ := t.raw(typ)
		path := t.key(typ)
		items, ok := p.asTableList(path, v)
		if !ok {
			continue
		}
		switch typ {
		case "c2s":
			for _, it := range items {
				l.C2S = append(l.C2S, p.c2sListener(it, st))
			}
		case "http":
			for _, it := range items {
				l.HTTP = append(l.HTTP, p.httpListener(it, st))
			}
		case "s2s", "component", "service":
			for _, it := range items {
				p.warnf(it.path, "%s listeners are not implemented, ignored", typ)
				// MongooseIM would still reject an undefined shaper here.
				if s, isStr := it.m["shaper"].(string); isStr {
					st.shapers = append(st.shapers, listenerShaper{it.key("shaper"), s})
				}
			}
		default:
			p.errorf(path, "unknown listener type (known: c2s, s2s, component, http)")
		}
	}
	return l
}

// socketOpts reads the options common to all listeners and returns port and
// bind address. It records the address for the clash check.
func (p *parser) socketOpts(t *tbl, st *listenState) (int, string) {
	port := 0
	if t.required("port") {
		port = int(t.integer("port", 0, 1, 65535))
	}
	t.enum("proto", "tcp", "tcp")
	ipVersion := t.intOneOf("ip_version", 0, 4, 6)
	def := "0.0.0.0"
	if ipVersion == 6 {
		def = "::"
	}
	ipStr := t.str("ip_address", def)
	ip, err := netip.ParseAddr(ipStr)
	switch {
	case err != nil:
		p.errorf(t.key("ip_address"), "not an IP address: %q", ipStr)
	case ipVersion == 4 && !ip.Unmap().Is4(), ipVersion == 6 && !ip.Is6():
		p.errorf(t.key("ip_address"), "%s is not an IPv%d address (ip_version = %d)", ipStr, ipVersion, ipVersion)
	default:
		if port != 0 {
			st.addrs = append(st.addrs, listenerAddr{key: t.key("port"), ip: ip.Unmap(), port: port})
		}
	}
	t.ignore("hibernate_after")
	return port, ipStr
}

func (p *parser) c2sListener(t *tbl, st *listenState) C2SListener {
	var l C2SListener
	l.Port, l.IPAddress = p.socketOpts(t, st)
	l.Backlog = int(t.integer("backlog", 1024, 0, math.MaxInt32))
	l.MaxConnections = int(t.intOrInfinity("max_connections", 0, 1))
	l.MaxStanzaSize = int(t.intOrInfinity("max_stanza_size", 0, 1))
	l.StateTimeout = time.Duration(t.intOrInfinity("state_timeout", 5000, 1)) * time.Millisecond
	if t.has("c2s_state_timeout") { // the name before MongooseIM 6.0
		if t.has("state_timeout") {
			p.errorf(t.key("c2s_state_timeout"), "conflicts with state_timeout")
		}
		l.StateTimeout = time.Duration(t.intOrInfinity("c2s_state_timeout", 5000, 1)) * time.Millisecond
	}
	l.Shaper = t.nonEmptyStr("shaper", "none")
	st.shapers = append(st.shapers, listenerShaper{t.key("shaper"), l.Shaper})
	l.Access = t.nonEmptyStr("access", "all")
	st.access = append(st.access, listenerShaper{t.key("access"), l.Access})
	l.BackwardsCompatibleSession = t.boolean("backwards_compatible_session", true)
	if methods, ok := t.strList("allowed_auth_methods"); ok {
		for i, m := range methods {
			if !slices.Contains(authMethods, m) {
				p.errorf(indexKey(t.key("allowed_auth_methods"), i), "must be one of %s, got %q", quoteList(authMethods), m)
			}
		}
		p.warnf(t.key("allowed_auth_methods"), "accepted for MongooseIM compatibility, ignored")
	}
	if s := t.sub("tls"); s != nil {
		l.TLS = p.tls(s, true)
	}
	t.ignore("num_acceptors", "proxy_protocol", "reuse_port")
	t.finish()
	return l
}

var tlsVersions = []string{"tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3"}

// tls reads a listener's tls section. withMode is false on HTTP listeners,
// where the section's presence means HTTPS and there is no mode key.
func (p *parser) tls(t *tbl, withMode bool) *TLSConfig {
	c := &TLSConfig{Mode: "tls"}
	if withMode {
		c.Mode = t.enum("mode", "starttls", "starttls", "starttls_required", "tls")
	}
	c.VerifyMode = t.enum("verify_mode", "peer", "peer", "selfsigned_peer", "none")
	c.CertFile = t.nonEmptyStr("certfile", "")
	c.KeyFile = t.nonEmptyStr("keyfile", "")
	c.CACertFile = t.nonEmptyStr("cacertfile", "")
	// Like MongooseIM on OTP 28.1+: a certificate without its key (or the
	// reverse) cannot be loaded; say so before start-up.
	switch {
	case c.CertFile != "" && c.KeyFile == "" && !t.has("keyfile"):
		p.errorf(t.key("keyfile"), "required when tls.certfile is set")
	case c.KeyFile != "" && c.CertFile == "" && !t.has("certfile"):
		p.errorf(t.key("certfile"), "required when tls.keyfile is set")
	}
	if vs, ok := t.strList("versions"); ok {
		for i, v := range vs {
			if !slices.Contains(tlsVersions, v) {
				p.errorf(indexKey(t.key("versions"), i), "must be one of %s, got %q", quoteList(tlsVersions), v)
				continue
			}
			c.Versions = append(c.Versions, v)
		}
	}
	t.ignore("module", "dhfile", "ciphers", "password", "protocol_options",
		"disconnect_on_failure", "crl_files", "keep_secrets", "early_data",
		"session_tickets", "server_name_indication")
	t.finish()
	return c
}

// adminAPIHandlers are the route groups of mongoose_admin_api (6.5.0).
var adminAPIHandlers = []string{"contacts", "users", "sessions", "messages", "stanzas", "muc_light", "muc", "inbox", "domain", "metrics"}

// httpHandlerTypes are the handler types MongooseIM has had; all but
// mongoose_admin_api and mongoose_prometheus_handler are reported as not
// implemented.
var httpHandlerTypes = []string{
	"mongoose_admin_api", "mongoose_client_api", "mongoose_bosh_handler",
	"mongoose_websocket_handler", "mongoose_graphql_handler",
	"mongoose_prometheus_handler", "mod_bosh", "mod_websockets",
	"mongoose_api", "mongoose_api_admin", "mongoose_api_client", "lasse_handler",
	"cowboy_static", "cowboy_swagger_redirect_handler", "cowboy_swagger_json_handler",
	"mongoose_domain_handler",
}

func (p *parser) httpListener(t *tbl, st *listenState) HTTPListener {
	var l HTTPListener
	l.Port, l.IPAddress = p.socketOpts(t, st)
	if s := t.sub("tls"); s != nil {
		l.TLS = p.tls(s, false)
	}
	if s := t.sub("transport"); s != nil {
		s.ignore("num_acceptors", "max_connections")
		s.finish()
	}
	if s := t.sub("protocol"); s != nil {
		s.ignore("compress")
		s.finish()
	}
	if h := t.sub("handlers"); h != nil {
		for _, typ := range h.keys() {
			v, _ := h.raw(typ)
			items, ok := p.asTableList(h.key(typ), v)
			if !ok {
				continue
			}
			switch {
			case typ == "mongoose_admin_api":
				l.AdminAPI = onePerListener(p, typ, items, p.adminAPI)
			case typ == "mongoose_prometheus_handler":
				l.Prometheus = onePerListener(p, typ, items, p.prometheusHandler)
			case slices.Contains(httpHandlerTypes, typ):
				p.warnf(h.key(typ), "HTTP handler not implemented, ignored")
			default:
				p.errorf(h.key(typ), "unknown HTTP handler type")
			}
		}
		h.finish()
	}
	if a := l.AdminAPI; a != nil && a.Username == "" {
		if ip, err := netip.ParseAddr(l.IPAddress); err == nil && !ip.IsLoopback() {
			p.warnf(t.key("handlers.mongoose_admin_api"), "no username/password and the listener is not bound to a loopback address: the admin API is open to the network")
		}
	}
	t.finish()
	return l
}

func (p *parser) adminAPI(t *tbl) *AdminAPIHandler {
	a := &AdminAPIHandler{}
	a.Host, a.Path = p.handlerHostPath(t)
	a.Username = t.nonEmptyStr("username", "")
	a.Password = t.nonEmptyStr("password", "")
	switch {
	case t.has("username") && !t.has("password"):
		p.errorf(t.key("password"), "required when username is set")
	case t.has("password") && !t.has("username"):
		p.errorf(t.key("username"), "required when password is set")
	}
	a.Handlers = slices.Clone(adminAPIHandlers)
	if hs, ok := t.strList("handlers"); ok {
		a.Handlers = a.Handlers[:0]
		for i, h := range hs {
			if !slices.Contains(adminAPIHandlers, h) {
				p.errorf(indexKey(t.key("handlers"), i), "must be one of %s, got %q", quoteList(adminAPIHandlers), h)
				continue
			}
			if !slices.Contains(a.Handlers, h) {
				a.Handlers = append(a.Handlers, h)
			}
		}
	}
	t.finish()
	return a
}

// checkListenerAddrs reports two listeners bound to the same port where the
// addresses overlap: equal, an unspecified address of the same family, or
// "::", which Go binds dual-stack and so covers IPv4 too.
func (p *parser) checkListenerAddrs(addrs []listenerAddr) {
	for i, b := range addrs {
		for _, a := range addrs[:i] {
			if a.port == b.port && addrsOverlap(a.ip, b.ip) {
				p.errorf(b.key, "port %d already used by %s", b.port, strings.TrimSuffix(a.key, ".port"))
				break
			}
		}
	}
}

func addrsOverlap(a, b netip.Addr) bool {
	switch {
	case a == b:
		return true
	case a.Is6() && a.IsUnspecified(), b.Is6() && b.IsUnspecified():
		return true
	case a.Is4() == b.Is4():
		return a.IsUnspecified() || b.IsUnspecified()
	}
	return false
}

// handlerHostPath reads the host and path every HTTP handler table requires.
func (p *parser) handlerHostPath(t *tbl) (host, path string) {
	if t.required("host") {
		host = t.nonEmptyStr("host", "")
	}
	if t.required("path") {
		path = t.nonEmptyStr("path", "")
		if path != "" && path[0] != '/' {
			p.errorf(t.key("path"), "must start with \"/\", got %q", path)
		}
	}
	return host, path
}

// onePerListener parses every table of a handler type (so each is checked) and
// returns the first: a listener serves at most one handler of a type.
func onePerListener[T any](p *parser, typ string, items []*tbl, parse func(*tbl) *T) *T {
	var first *T
	for i, it := range items {
		h := parse(it)
		if i > 0 {
			p.errorf(it.path, "only one %s handler per listener is supported", typ)
			continue
		}
		first = h
	}
	return first
}
