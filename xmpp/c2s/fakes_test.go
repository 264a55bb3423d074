package c2s

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/tlscert"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

const (
	testDomain   = "example.com"
	testHostType = "basic"
	testPassword = "secret"
	// Low in tests so each login stays cheap; the benchmarks use the default.
	testIterations = 64
)

// fakeDirectory knows a set of enabled domains.
type fakeDirectory struct {
	mu      sync.Mutex
	domains map[string]string
}

func newDirectory(domains ...string) *fakeDirectory {
	d := &fakeDirectory{domains: map[string]string{}}
	for _, dom := range domains {
		d.domains[dom] = testHostType
	}
	return d
}

func (d *fakeDirectory) HostTypeOf(domain string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ht, ok := d.domains[domain]
	return ht, ok
}

func (d *fakeDirectory) disable(domain string) {
	d.mu.Lock()
	delete(d.domains, domain)
	d.mu.Unlock()
}

// fakeAccounts holds credentials per user@domain.
type fakeAccounts struct {
	mu    sync.Mutex
	users map[string]scram.Credentials
}

func newAccounts() *fakeAccounts { return &fakeAccounts{users: map[string]scram.Credentials{}} }

// add stores SCRAM credentials for every hash.
func (a *fakeAccounts) add(t testing.TB, user, domain, password string, iterations int) {
	t.Helper()
	c, err := scram.Derive(password, iterations, scram.AllHashes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a.set(user, domain, c)
}

func (a *fakeAccounts) set(user, domain string, c scram.Credentials) {
	a.mu.Lock()
	a.users[user+"@"+domain] = c
	a.mu.Unlock()
}

func (a *fakeAccounts) Credentials(domain, user string) (scram.Credentials, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.users[user+"@"+domain]
	if !ok {
		return scram.Credentials{}, fmt.Errorf("%s@%s: %w", user, domain, scram.ErrUnknownUser)
	}
	return c, nil
}

var errTooMany = errors.New("fake router: too many sessions")

// fakeRouter delivers between the sessions it bound: to a full JID, or to
// every resource of a bare JID. Stanzas for nobody are recorded.
type fakeRouter struct {
	mu          sync.Mutex
	sessions    map[jid.JID]router.Session
	maxSessions int
	unbound     chan jid.JID
	routed      chan *xmlstream.Element
}

func newRouter() *fakeRouter {
	return &fakeRouter{
		sessions:    map[jid.JID]router.Session{},
		maxSessions: 10,
		unbound:     make(chan jid.JID, 10000),
		routed:      make(chan *xmlstream.Element, 10000),
	}
}

func (r *fakeRouter) Bind(s router.Session) error {
	r.mu.Lock()
	old := r.sessions[s.JID()]
	n := 0
	for j := range r.sessions {
		if j.Bare() == s.JID().Bare() {
			n++
		}
	}
	if old == nil && n >= r.maxSessions {
		r.mu.Unlock()
		return errTooMany
	}
	r.sessions[s.JID()] = s
	r.mu.Unlock()
	if old != nil {
		old.Stop(Conflict, "Replaced by new connection")
	}
	return nil
}

func (r *fakeRouter) Unbind(s router.Session) {
	r.mu.Lock()
	if r.sessions[s.JID()] == s {
		delete(r.sessions, s.JID())
	}
	r.mu.Unlock()
	select {
	case r.unbound <- s.JID():
	default: // benchmarks do not read it
	}
}

func (r *fakeRouter) Route(from router.Session, el *xmlstream.Element) {
	to, err := jid.Parse(el.Attr("to"))
	var targets []router.Session
	r.mu.Lock()
	if err == nil {
		if to.IsBare() {
			for j, s := range r.sessions {
				if j.Bare() == to {
					targets = append(targets, s)
				}
			}
		} else if s := r.sessions[to]; s != nil {
			targets = append(targets, s)
		}
	}
	r.mu.Unlock()
	if len(targets) == 0 {
		if el.Local == "iq" && el.Attr("type") == "get" && el.Child(stanza.NSPing, "ping") != nil {
			from.Deliver(stanza.Result(el, nil))
			return
		}
		select {
		case r.routed <- el.Clone():
		default:
		}
		return
	}
	for _, s := range targets {
		s.Deliver(el)
	}
}

func (r *fakeRouter) session(j string) router.Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sessions[jid.MustParse(j)]
}

func (r *fakeRouter) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// Test certificate, made once per test binary.
var (
	certOnce sync.Once
	testCert tls.Certificate
	certPool *x509.CertPool
)

func serverCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	certOnce.Do(func() {
		certPEM, keyPEM, err := tlscert.Generate([]string{testDomain, "localhost"}, timeNow())
		if err != nil {
			panic(err)
		}
		testCert, err = tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			panic(err)
		}
		certPool = x509.NewCertPool()
		if !certPool.AppendCertsFromPEM(certPEM) {
			panic("bad test certificate")
		}
	})
	return testCert, certPool
}

func clientTLS(t testing.TB) *tls.Config {
	_, pool := serverCert(t)
	return &tls.Config{RootCAs: pool, ServerName: testDomain}
}
