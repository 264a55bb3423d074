// Package c2s serves client-to-server XMPP connections (RFC 6120): it accepts
// TCP connections, negotiates the stream (STARTTLS or direct TLS, SASL,
// resource binding), and then stamps and hands every stanza the client sends
// to the router, while delivering what the router sends back without ever
// blocking the sender.
//
// Each connection has one goroutine that reads and parses; writes go through
// a per-connection output buffer that a short-lived flusher goroutine drains,
// so an idle session costs one parked goroutine, a small read buffer and no
// write buffer at all (those are borrowed from a pool while data is pending).
package c2s

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/metrics"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Router is what a bound session needs from the router.
type Router interface {
	// Bind registers a session whose JID is set. It may replace an older
	// session with the same full JID (stopping it with <conflict/>); an error
	// (such as too many sessions for the user) refuses the bind, which the
	// client sees as <resource-constraint/>.
	Bind(s router.Session) error
	// Unbind removes a session that Bind accepted; called once, when the
	// connection ends.
	Unbind(s router.Session)
	// Route handles a stanza the session's client sent, with its from
	// attribute already stamped with the session's JID.
	Route(from router.Session, el *xmlstream.Element)
}

// Directory resolves the domain a client asks for in its stream header.
type Directory interface {
	// HostTypeOf returns the host type of an enabled domain; ok is false for
	// unknown, disabled and being-deleted domains.
	HostTypeOf(domain string) (hostType string, ok bool)
}

// Accounts looks up users' stored credentials.
type Accounts interface {
	// Credentials returns the stored credentials of user (a prepared
	// localpart) on domain, or an error wrapping scram.ErrUnknownUser.
	Credentials(domain, user string) (scram.Credentials, error)
}

// TLSMode is a listener's tls.mode.
type TLSMode int

// TLS modes. TLSNone is a listener without a tls section: no TLS is offered
// and PLAIN is allowed in clear (meant for load tools on loopback).
const (
	TLSNone             TLSMode = iota
	TLSStartTLS                 // STARTTLS offered (tls.mode = "starttls")
	TLSStartTLSRequired         // STARTTLS required before anything else ("starttls_required")
	TLSDirect                   // TLS from the first byte, XEP-0368 ("tls")
)

// ParseTLSMode maps a configured tls.mode to a TLSMode. "" is "starttls", the
// default when a tls section exists.
func ParseTLSMode(s string) (TLSMode, error) {
	switch s {
	case "", "starttls":
		return TLSStartTLS, nil
	case "starttls_required":
		return TLSStartTLSRequired, nil
	case "tls":
		return TLSDirect, nil
	}
	return TLSNone, fmt.Errorf("c2s: unknown tls.mode %q (want starttls, starttls_required or tls)", s)
}

func (m TLSMode) String() string {
	switch m {
	case TLSNone:
		return "none"
	case TLSStartTLS:
		return "starttls"
	case TLSStartTLSRequired:
		return "starttls_required"
	case TLSDirect:
		return "tls"
	}
	return fmt.Sprintf("TLSMode(%d)", int(m))
}

// Config configures a Listener. Zero values mean the defaults documented on
// each field.
type Config struct {
	// Addr is the host:port to listen on ("0.0.0.0:5222").
	Addr string
	// MaxStanzaSize bounds one stanza in bytes; 0 means unlimited (the
	// embedded default configuration sets 65536).
	MaxStanzaSize int
	// StateTimeout bounds each step of stream negotiation before the
	// session is established (a header, a SASL message, the TLS
	// handshake); an idle client gets <connection-timeout/>. Default 5 s;
	// state_timeout = "infinity" is best mapped to a very long duration.
	StateTimeout time.Duration
	// ShaperRate limits what one connection may send, in bytes per second
	// (the listener's shaper max_rate); 0 means unlimited.
	ShaperRate int
	// MaxConnections caps open connections; a connection accepted beyond
	// it is closed at once. 0 means unlimited.
	MaxConnections int

	// TLSMode selects how TLS is offered; anything but TLSNone needs TLS.
	TLSMode TLSMode
	// TLS holds the certificates. It is cloned; MinVersion defaults to TLS
	// 1.2. tls-server-end-point channel binding (SCRAM-*-PLUS on TLS 1.2)
	// uses Certificates[0]; with only GetCertificate set, -PLUS is offered
	// on TLS 1.3 alone (tls-exporter).
	TLS *tls.Config

	// DefaultServerDomain is the from of the stream header when the
	// client's domain is not (yet) known, for example with <host-unknown/>.
	DefaultServerDomain string
	Directory           Directory
	Accounts            Accounts
	Router              Router
	// Mechanisms returns a host type's auth.sasl_mechanisms (MongooseIM
	// names such as "scram_sha256_plus" and "plain", or SASL names); nil,
	// or a nil result, means DefaultMechanisms. Names this package does not
	// implement are skipped.
	Mechanisms func(hostType string) []string
	// ScramIterations returns a host type's password.scram_iterations, used
	// for users stored in plain format and to make unknown users look like
	// known ones. nil means scram.DefaultIterations.
	ScramIterations func(hostType string) int
	// Access, when set, is the listener's access rule: it decides whether an
	// authenticated user may open a session. It is asked at resource binding
	// (with the full JID being bound), as MongooseIM's c2s does; false answers
	// the bind IQ with <not-allowed/> and opens no session.
	Access func(hostType string, full jid.JID) bool
	// Modules, when set, gives the session to the modules' hooks: session open and
	// close, the user-send and user-receive stanza chains, stream features and
	// non-stanza elements, and presence tracking (module.Host implements it).
	Modules module.ConnHooks

	// NoLegacySession leaves <session/> (RFC 3921) out of the features
	// (backwards_compatible_session = false). The session IQ is answered
	// either way.
	NoLegacySession bool

	// OutQueueLen and OutQueueBytes bound what may wait for a client that
	// does not read: past either, the session is closed. Defaults 1000
	// stanzas and 1 MiB.
	OutQueueLen   int
	OutQueueBytes int
	// ReadBufferSize is the per-connection read buffer; stanzas larger than
	// it are assembled in a buffer that is released afterwards. Default
	// 4096.
	ReadBufferSize int
	// CloseTimeout bounds how long a closing connection waits for its last
	// bytes (a stream error, </stream:stream>) to be written. Default 2 s.
	CloseTimeout time.Duration

	Logger *slog.Logger
	// Metrics receives the listener's counters (authentications, stanzas in
	// and out, connections); nil keeps them private.
	Metrics *metrics.Set
}

// Defaults.
const (
	DefaultStateTimeout   = 5 * time.Second
	DefaultOutQueueLen    = 1000
	DefaultOutQueueBytes  = 1 << 20
	DefaultReadBufferSize = 4096
	DefaultCloseTimeout   = 2 * time.Second
)

// MaxAuthAttempts is how many failed SASL attempts a connection gets before it
// is closed (MongooseIM's AUTH_RETRIES).
const MaxAuthAttempts = 3

func (c Config) withDefaults() (Config, error) {
	if c.Directory == nil || c.Accounts == nil || c.Router == nil {
		return c, errors.New("c2s: Config needs Directory, Accounts and Router")
	}
	if c.TLSMode != TLSNone && c.TLS == nil {
		return c, fmt.Errorf("c2s: tls.mode %s without a TLS configuration", c.TLSMode)
	}
	if c.TLSMode == TLSNone {
		c.TLS = nil
	}
	if c.StateTimeout <= 0 {
		c.StateTimeout = DefaultStateTimeout
	}
	if c.OutQueueLen <= 0 {
		c.OutQueueLen = DefaultOutQueueLen
	}
	if c.OutQueueBytes <= 0 {
		c.OutQueueBytes = DefaultOutQueueBytes
	}
	if c.ReadBufferSize <= 0 {
		c.ReadBufferSize = DefaultReadBufferSize
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Metrics = metrics.Or(c.Metrics)
	return c, nil
}
