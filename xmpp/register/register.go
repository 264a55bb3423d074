// Package register is mod_register: in-band registration (XEP-0077,
// jabber:iq:register). Before authentication a client asks for the form and creates
// an account; once logged in it changes its password or removes its account.
//
// As in MongooseIM, registration is refused (<forbidden/>) when the "access" rule
// denies or the client's address is denied by "ip_access"; one address may register
// once per general.registration_timeout (<resource-constraint/>); "password_strength"
// sets a minimum entropy in bits.
package register

import (
	"context"
	"errors"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Namespaces.
const (
	NS        = "jabber:iq:register"
	NSFeature = "http://jabber.org/features/iq-register"
)

// Error texts, MongooseIM's.
const (
	textTooQuickly = "Users are not allowed to register accounts so quickly"
	textWeak       = "The password is too weak"
	textInstr      = "Choose a username and password to register with this server"
)

// Accounts creates, changes and removes accounts; *node.Node implements it.
type Accounts interface {
	RegisterUser(ctx context.Context, domain, user, password string) (jid.JID, error)
	ChangePassword(ctx context.Context, domain, user, password string) error
	RemoveUser(ctx context.Context, domain, user string) error
}

// IPRule is one ip_access entry: the first rule whose prefix holds the client's
// address decides; no match allows.
type IPRule struct {
	Prefix netip.Prefix
	Allow  bool
}

// Deps are what the module needs from the server.
type Deps struct {
	Accounts Accounts
	// Access reports whether the named access rule allows the new account of
	// hostType; rule "" (the option unset) allows, as MongooseIM's default "all".
	Access func(hostType, rule string, user jid.JID) bool
	// IPAccess returns the host type's ip_access list (the option is a list of tables,
	// which module.Options does not express).
	IPAccess func(hostType string) []IPRule
	// Timeout is general.registration_timeout; 0 means no limit ("infinity").
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Module returns mod_register. The rate limiter is shared by every host type, as
// MongooseIM's table of recent registrations is per node, not per host.
func Module(d Deps) module.Module {
	if d.Now == nil {
		d.Now = time.Now
	}
	r := &registrar{d: d, recent: map[netip.Addr]time.Time{}}
	return module.Module{Name: "mod_register", Start: r.start}
}

type registrar struct {
	d      Deps
	mu     sync.Mutex
	recent map[netip.Addr]time.Time // last registration per address
}

// hostOpts are one host type's options.
type hostOpts struct {
	hostType string
	access   string
	strength int
	ip       []IPRule
}

func (r *registrar) start(env *module.Env, opts module.Options) error {
	o := &hostOpts{
		hostType: env.HostType(),
		access:   opts.String("access", ""),
		strength: opts.Int("password_strength", 0),
	}
	if r.d.IPAccess != nil {
		o.ip = r.d.IPAccess(env.HostType())
	}
	env.OnStreamFeatures(func(stage module.Stage) []*xmlstream.Element {
		if stage != module.StagePreAuth {
			return nil
		}
		return []*xmlstream.Element{xmlstream.NewElement(NSFeature, "register")}
	})
	env.OnPreAuthIQ(NS, func(st module.PreAuthStream, el *xmlstream.Element) *xmlstream.Element {
		return r.preAuth(env.Context(), o, st, el)
	})
	// An IQ without 'to' is addressed to the sender's own account (RFC 6120 section
	// 10.3.3), which is how clients send XEP-0077 requests once logged in.
	env.HandleIQ(NS, router.ToBoth, func(ctx context.Context, q *router.IQ) *xmlstream.Element {
		return r.authed(ctx, o, q)
	})
	return nil
}

// preAuth answers an IQ of an unauthenticated stream: the form, or a registration.
func (r *registrar) preAuth(ctx context.Context, o *hostOpts, st module.PreAuthStream, el *xmlstream.Element) *xmlstream.Element {
	q := el.Child(NS, "query")
	switch {
	case q == nil || len(el.Elements()) != 1:
		return stanza.ErrorReply(el, stanza.BadRequest, "")
	case el.Attr("type") == "get":
		return stanza.Result(el, form(""))
	case el.Attr("type") != "set":
		return stanza.ErrorReply(el, stanza.BadRequest, "")
	case q.Child(NS, "remove") != nil:
		// Cancelling needs an account: XEP-0077 section 3.2.
		return stanza.ErrorReply(el, stanza.NotAuthorized, "")
	}
	return r.register(ctx, o, st.Domain, addrOf(st.RemoteAddr), el, q)
}

// authed answers a logged-in client: the form, a password change, removal, or (as
// MongooseIM allows) the registration of another account.
func (r *registrar) authed(ctx context.Context, o *hostOpts, iq *router.IQ) *xmlstream.Element {
	q := iq.Payload
	if q.Local != "query" {
		return iq.Error(stanza.BadRequest, "")
	}
	if iq.Target == router.ToAccount && !iq.OwnAccount() {
		return iq.Error(stanza.NotAllowed, "")
	}
	if iq.El.Attr("type") == "get" {
		f := form(iq.From.Local())
		f.AddChild(xmlstream.NewElement(NS, "registered"))
		return iq.Result(f)
	}
	if iq.From.Domain() != iq.To.Domain() || iq.From.Local() == "" ||
		(iq.Target == router.ToAccount && !iq.OwnAccount()) {
		return iq.Error(stanza.NotAllowed, "")
	}
	if q.Child(NS, "remove") != nil {
		return r.remove(ctx, iq)
	}
	user, pass, ok := fields(q)
	if !ok {
		return iq.Error(stanza.NotAcceptable, "")
	}
	if u, err := jid.NormalizeLocal(user); err == nil && u == iq.From.Local() {
		if !strong(pass, o.strength) {
			return iq.Error(stanza.NotAcceptable, textWeak)
		}
		if err := r.d.Accounts.ChangePassword(ctx, iq.From.Domain(), u, pass); err != nil {
			return iq.Error(condition(err), "")
		}
		return iq.Result(nil)
	}
	var ip netip.Addr
	if s, ok := iq.Session.(module.Session); ok {
		ip = addrOf(s.RemoteAddr())
	}
	return r.register(ctx, o, iq.To.Domain(), ip, iq.El, q)
}

// remove deletes the sender's account. The result is written before the account
// goes, because removal closes the account's sessions, this one included.
func (r *registrar) remove(ctx context.Context, iq *router.IQ) *xmlstream.Element {
	if iq.Session == nil {
		return iq.Error(stanza.NotAllowed, "")
	}
	iq.Session.Deliver(iq.Result(nil))
	// As in MongooseIM, the result is out before the removal, so a failure cannot be
	// reported: the account then stays, which the client sees on its next login.
	_ = r.d.Accounts.RemoveUser(ctx, iq.From.Domain(), iq.From.Local())
	return nil
}

// register creates an account from a set request's query q.
func (r *registrar) register(ctx context.Context, o *hostOpts, domain string, ip netip.Addr, el, q *xmlstream.Element) *xmlstream.Element {
	user, pass, ok := fields(q)
	if !ok {
		return stanza.ErrorReply(el, stanza.NotAcceptable, "")
	}
	u, err := jid.NormalizeLocal(user)
	if err != nil || u == "" {
		return stanza.ErrorReply(el, stanza.BadRequest, "")
	}
	j, err := jid.New(u, domain, "")
	if err != nil {
		return stanza.ErrorReply(el, stanza.BadRequest, "")
	}
	if r.d.Access != nil && !r.d.Access(o.hostType, o.access, j) {
		return stanza.ErrorReply(el, stanza.Forbidden, "")
	}
	if !ipAllowed(o.ip, ip) {
		return stanza.ErrorReply(el, stanza.Forbidden, "")
	}
	if !strong(pass, o.strength) {
		return stanza.ErrorReply(el, stanza.NotAcceptable, textWeak)
	}
	if !r.take(ip) {
		return stanza.ErrorReply(el, stanza.ResourceConstraint, textTooQuickly)
	}
	if _, err := r.d.Accounts.RegisterUser(ctx, domain, u, pass); err != nil {
		r.release(ip)
		return stanza.ErrorReply(el, condition(err), "")
	}
	return stanza.Result(el, nil)
}

// take records a registration from ip, or reports false when ip registered less
// than Timeout ago. Unlike MongooseIM, which records every attempt, a failed
// registration gives its slot back (release): a typo in a taken username should not
// lock the address out for ten minutes.
func (r *registrar) take(ip netip.Addr) bool {
	if r.d.Timeout <= 0 || !ip.IsValid() {
		return true
	}
	now := r.d.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for a, t := range r.recent { // bounded by the addresses of the last Timeout
		if now.Sub(t) >= r.d.Timeout {
			delete(r.recent, a)
		}
	}
	if _, ok := r.recent[ip]; ok {
		return false
	}
	r.recent[ip] = now
	return true
}

func (r *registrar) release(ip netip.Addr) {
	r.mu.Lock()
	delete(r.recent, ip)
	r.mu.Unlock()
}

// condition maps an account error to a stanza error (MongooseIM's mapping).
func condition(err error) stanza.Condition {
	switch {
	case errors.Is(err, store.ErrUserExists):
		return stanza.Conflict
	case errors.Is(err, store.ErrTooManyUsers):
		return stanza.ResourceConstraint
	case errors.Is(err, store.ErrUserNotFound):
		return stanza.ItemNotFound
	case errors.Is(err, store.ErrDomainDisabled):
		return stanza.NotAllowed
	}
	var ce *store.CodeError
	if errors.As(err, &ce) {
		return stanza.NotAcceptable
	}
	return stanza.InternalServerError
}

// fields returns the username and password of a set query; ok is false when either
// is missing or empty.
func fields(q *xmlstream.Element) (user, pass string, ok bool) {
	u, p := q.Child(NS, "username"), q.Child(NS, "password")
	if u == nil || p == nil || u.Text() == "" || p.Text() == "" {
		return "", "", false
	}
	return u.Text(), p.Text(), true
}

// form is the registration form of XEP-0077 section 3.1.
func form(user string) *xmlstream.Element {
	q := xmlstream.NewElement(NS, "query")
	in := xmlstream.NewElement(NS, "instructions")
	in.AddText(textInstr)
	q.AddChild(in)
	u := xmlstream.NewElement(NS, "username")
	if user != "" {
		u.AddText(user)
	}
	q.AddChild(u)
	q.AddChild(xmlstream.NewElement(NS, "password"))
	return q
}

// ipAllowed applies ip_access: first match wins, no match (or no address) allows.
func ipAllowed(rules []IPRule, ip netip.Addr) bool {
	if !ip.IsValid() {
		return true
	}
	for _, r := range rules {
		if r.Prefix.Contains(ip) {
			return r.Allow
		}
	}
	return true
}

func addrOf(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(t.IP)
		return ip.Unmap()
	}
	if a == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// Entropy is MongooseIM's (ejabberd_auth:entropy) password strength in bits: the
// length in characters times log2 of the size of the character classes used
// (lowercase 26, uppercase 26, digits 9, other printable ASCII 33, anything else
// 128).
func Entropy(pw string) float64 {
	var lower, upper, digit, printable, other float64
	n := 0
	for _, c := range pw {
		n++
		switch {
		case c >= 'a' && c <= 'z':
			lower = 26
		case c >= '0' && c <= '9':
			digit = 9
		case c >= 'A' && c <= 'Z':
			upper = 26
		case c >= 33 && c <= 126:
			printable = 33
		default:
			other = 128
		}
	}
	if n == 0 {
		return 0
	}
	return float64(n) * math.Log2(lower+upper+digit+printable+other)
}

func strong(pw string, bits int) bool { return bits <= 0 || Entropy(pw) >= float64(bits) }

// ParsePrefix reads an ip_access address: a CIDR prefix or a single address.
func ParsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}
