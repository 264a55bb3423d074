package scram

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
)

// ChannelBinding is the channel binding the connection offers (RFC 5056):
// the binding type name, such as "tls-exporter" or "tls-server-end-point",
// and its data for this connection. Pass the zero value when the connection
// offers none, that is when it is not on TLS or the -PLUS mechanisms are not
// advertised: a non-nil Data tells the Server that -PLUS was on offer, which
// is what its downgrade check relies on.
type ChannelBinding struct {
	Type string
	Data []byte
}

// Lookup returns the stored credentials of a user, given the prepared
// localpart. For a user that does not exist it returns an error wrapping
// ErrUnknownUser.
type Lookup func(username string) (Credentials, error)

// Option configures a Server.
type Option func(*Server)

// WithDomain lets the client's authzid be the bare JID user@domain as well
// as the plain username (RFC 6120 section 6.3.8). Without it, an authzid
// containing '@' is refused.
func WithDomain(domain string) Option {
	return func(s *Server) {
		if d, err := jid.NormalizeDomain(domain); err == nil {
			s.domain = d
		}
	}
}

// WithIterations sets the iteration count used for users stored in plain
// format (whose Credentials do not carry one) and for the made-up credentials
// of unknown users. The default is DefaultIterations; set it to the host
// type's scram_iterations so that unknown users look like known ones.
func WithIterations(n int) Option {
	return func(s *Server) {
		if n > 0 {
			s.iterations = n
		}
	}
}

type state int

const (
	stateClientFirst state = iota
	stateClientFinal
	stateDone
	stateFailed
)

// Server is the server side of one SCRAM exchange (RFC 5802, RFC 7677). It
// is used by one goroutine: call Step with each client message until it
// returns done or an error. Messages are the raw SASL payloads; base64 is
// the caller's (see DecodePayload).
type Server struct {
	hash       Hash
	plus       bool
	mechErr    error
	lookup     Lookup
	cb         ChannelBinding
	domain     string
	iterations int
	// newNonce returns the server's part of the nonce; tests replace it to
	// replay published exchanges.
	newNonce func() (string, error)

	state           state
	gs2Header       string
	cbFlag          byte // 'n', 'y' or 'p'
	clientFirstBare string
	serverFirst     string
	nonce           string
	cred            Credential
	known           bool
	username        string
}

// NewServer starts an exchange for mech, one of the names Hash.Mechanism and
// Hash.PlusMechanism return. An unknown mechanism, or a -PLUS one without
// channel binding data, makes the first Step fail with ErrInvalidMechanism.
func NewServer(mech string, lookup Lookup, cb ChannelBinding, opts ...Option) *Server {
	s := &Server{lookup: lookup, cb: cb, iterations: DefaultIterations, newNonce: randomNonce}
	s.hash, s.plus, s.mechErr = ParseMechanism(mech)
	if s.mechErr == nil && s.plus && cb.Data == nil {
		s.mechErr = fmt.Errorf("%w: %s without channel binding", ErrInvalidMechanism, mech)
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Username returns the authenticated username (the prepared localpart) once
// the exchange has succeeded, and "" before.
func (s *Server) Username() string {
	if s.state != stateDone {
		return ""
	}
	return s.username
}

// Step processes the next client message and returns the server's reply.
// done is true with the server-final message (to be sent as additional data
// with <success/>). On error the exchange is over; the error wraps one of the
// SASL failure sentinels (sasl.Condition maps it) and the caller sends
// <failure/>.
func (s *Server) Step(clientMsg []byte) (serverMsg []byte, done bool, err error) {
	switch s.state {
	case stateClientFirst:
		serverMsg, err = s.clientFirst(string(clientMsg))
	case stateClientFinal:
		serverMsg, err = s.clientFinal(string(clientMsg))
		done = err == nil
	default:
		return nil, false, fmt.Errorf("%w: exchange already finished", ErrMalformedRequest)
	}
	if err != nil {
		s.state = stateFailed
		return nil, false, err
	}
	s.state++
	return serverMsg, done, nil
}

func (s *Server) clientFirst(msg string) ([]byte, error) {
	if s.mechErr != nil {
		return nil, s.mechErr
	}
	if msg == "" {
		// SCRAM is client-first; an <auth/> without initial response is
		// answered with an empty challenge by the caller, not here.
		return nil, fmt.Errorf("%w: empty client-first message", ErrMalformedRequest)
	}
	if !utf8.ValidString(msg) {
		return nil, fmt.Errorf("%w: client-first message is not UTF-8", ErrMalformedRequest)
	}
	// gs2-header = gs2-cbind-flag "," [ authzid ] ","
	flag, rest, ok := strings.Cut(msg, ",")
	if !ok {
		return nil, fmt.Errorf("%w: no gs2 header", ErrMalformedRequest)
	}
	var cbType string
	switch {
	case flag == "n" || flag == "y":
		s.cbFlag = flag[0]
	case strings.HasPrefix(flag, "p=") && validCBName(flag[2:]):
		s.cbFlag, cbType = 'p', flag[2:]
	default:
		return nil, fmt.Errorf("%w: bad gs2 channel binding flag %q", ErrMalformedRequest, flag)
	}
	authzField, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, fmt.Errorf("%w: unterminated gs2 header", ErrMalformedRequest)
	}
	var authzid string
	if authzField != "" {
		v, ok := strings.CutPrefix(authzField, "a=")
		if !ok {
			return nil, fmt.Errorf("%w: bad authzid field", ErrMalformedRequest)
		}
		if authzid, ok = decodeSASLName(v); !ok || authzid == "" {
			return nil, fmt.Errorf("%w: bad authzid encoding", ErrMalformedRequest)
		}
	}
	s.gs2Header = msg[:len(msg)-len(bare)]

	if err := s.checkBindingPolicy(cbType); err != nil {
		return nil, err
	}

	// client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
	if strings.HasPrefix(bare, "m=") {
		return nil, fmt.Errorf("%w: unsupported mandatory extension", ErrMalformedRequest)
	}
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, fmt.Errorf("%w: client-first message must start n=...,r=...", ErrMalformedRequest)
	}
	rawUser, ok := decodeSASLName(attrs[0][2:])
	if !ok || rawUser == "" {
		return nil, fmt.Errorf("%w: bad username encoding", ErrMalformedRequest)
	}
	clientNonce := attrs[1][2:]
	if !validNonce(clientNonce) {
		return nil, fmt.Errorf("%w: bad client nonce", ErrMalformedRequest)
	}
	s.clientFirstBare = bare

	user, err := jid.NormalizeLocal(rawUser)
	if err != nil {
		return nil, fmt.Errorf("%w: username: %w", ErrNotAuthorized, err)
	}
	s.username = user
	if authzid != "" && !s.authzidMatches(authzid) {
		return nil, fmt.Errorf("%w: %q may not act as %q", ErrInvalidAuthzid, user, authzid)
	}

	if err := s.loadCredential(); err != nil {
		return nil, err
	}
	serverNonce, err := s.newNonce()
	if err != nil {
		return nil, fmt.Errorf("%w: nonce: %w", ErrTemporaryAuthFailure, err)
	}
	s.nonce = clientNonce + serverNonce
	s.serverFirst = "r=" + s.nonce +
		",s=" + base64.StdEncoding.EncodeToString(s.cred.Salt) +
		",i=" + strconv.Itoa(s.cred.Iterations)
	return []byte(s.serverFirst), nil
}

// checkBindingPolicy enforces RFC 5802 section 6: a -PLUS mechanism must
// bind with the type on offer, and a client that could bind ("y") but
// thinks the server cannot must be refused when the server did offer -PLUS,
// since then someone stripped -PLUS from the mechanism list.
func (s *Server) checkBindingPolicy(cbType string) error {
	switch {
	case s.plus && s.cbFlag != 'p':
		return fmt.Errorf("%w: %s requires channel binding", ErrMalformedRequest, s.hash.PlusMechanism())
	case s.plus && cbType != s.cb.Type:
		return fmt.Errorf("%w: unsupported channel binding type %q", ErrNotAuthorized, cbType)
	case !s.plus && s.cbFlag == 'p':
		return fmt.Errorf("%w: channel binding requested with %s", ErrMalformedRequest, s.hash.Mechanism())
	case !s.plus && s.cbFlag == 'y' && s.cb.Data != nil:
		return fmt.Errorf("%w: client assumes no channel binding but the server offers it (downgrade?)", ErrNotAuthorized)
	}
	return nil
}

func (s *Server) authzidMatches(authzid string) bool {
	if !strings.Contains(authzid, "@") {
		u, err := jid.NormalizeLocal(authzid)
		return err == nil && u == s.username
	}
	j, err := jid.Parse(authzid)
	return err == nil && s.domain != "" && j.IsBare() && j.Local() == s.username && j.Domain() == s.domain
}

// loadCredential fills s.cred. Unknown users, plain users whose password is
// unusable and users without credentials for this hash get made-up
// credentials (s.known stays false) so the exchange fails only at the end.
func (s *Server) loadCredential() error {
	creds, err := s.lookup(s.username)
	switch {
	case errors.Is(err, ErrUnknownUser):
		s.cred = s.fakeCredential()
		return nil
	case err != nil:
		return fmt.Errorf("%w: credential lookup: %w", ErrTemporaryAuthFailure, err)
	}
	if cr, ok := creds.ByHash[s.hash]; ok {
		if len(cr.StoredKey) != s.hash.Size() || len(cr.ServerKey) != s.hash.Size() || len(cr.Salt) == 0 || cr.Iterations < 1 {
			return fmt.Errorf("%w: stored %s credentials of %q are corrupt", ErrTemporaryAuthFailure, s.hash, s.username)
		}
		s.cred, s.known = cr, true
		return nil
	}
	if creds.Plain != "" {
		iter := creds.Iterations
		if iter < 1 {
			iter = s.iterations
		}
		if cr, err := NewCredential(s.hash, creds.Plain, s.fakeSalt(), iter); err == nil {
			s.cred, s.known = cr, true
			return nil
		}
	}
	s.cred = s.fakeCredential()
	return nil
}

// fakeSecret keys fakeSalt. It is per process, so a client probing the same
// name twice sees the same salt, as it would for a real user.
var fakeSecret = func() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}()

func (s *Server) fakeSalt() []byte {
	m := hmac.New(sha256.New, fakeSecret)
	m.Write([]byte(s.hash.Mechanism()))
	m.Write([]byte{0})
	m.Write([]byte(s.username))
	return m.Sum(nil)[:SaltLen]
}

func (s *Server) fakeCredential() Credential {
	// Keys of the right length so the final step does the same work as for
	// a real user; they match no password because known stays false.
	return Credential{
		Hash:       s.hash,
		Salt:       s.fakeSalt(),
		Iterations: s.iterations,
		StoredKey:  make([]byte, s.hash.Size()),
		ServerKey:  make([]byte, s.hash.Size()),
	}
}

func (s *Server) clientFinal(msg string) ([]byte, error) {
	// client-final-message = "c=" cbind "," "r=" nonce ["," extensions] ",p=" proof
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return nil, fmt.Errorf("%w: client-final message without proof", ErrMalformedRequest)
	}
	withoutProof, proofB64 := msg[:i], msg[i+3:]
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, fmt.Errorf("%w: client-final message must start c=...,r=...", ErrMalformedRequest)
	}
	cbind, err := base64.StdEncoding.Strict().DecodeString(attrs[0][2:])
	if err != nil {
		return nil, fmt.Errorf("%w: channel binding attribute: %w", ErrMalformedRequest, err)
	}
	proof, err := base64.StdEncoding.Strict().DecodeString(proofB64)
	if err != nil || len(proof) != s.hash.Size() {
		return nil, fmt.Errorf("%w: bad client proof", ErrMalformedRequest)
	}
	want := []byte(s.gs2Header)
	if s.cbFlag == 'p' {
		want = append(want, s.cb.Data...)
	}
	if !bytes.Equal(cbind, want) {
		return nil, fmt.Errorf("%w: channel binding data does not match", ErrNotAuthorized)
	}
	if attrs[1][2:] != s.nonce {
		return nil, fmt.Errorf("%w: nonce does not match", ErrNotAuthorized)
	}

	authMessage := []byte(s.clientFirstBare + "," + s.serverFirst + "," + withoutProof)
	h := s.hash
	sig := hmacSum(h, s.cred.StoredKey, authMessage)
	clientKey := make([]byte, len(proof))
	subtle.XORBytes(clientKey, proof, sig)
	d := h.New()
	d.Write(clientKey)
	if subtle.ConstantTimeCompare(d.Sum(nil), s.cred.StoredKey) != 1 || !s.known {
		return nil, fmt.Errorf("%w: authentication of %q failed", ErrNotAuthorized, s.username)
	}
	return []byte("v=" + base64.StdEncoding.EncodeToString(hmacSum(h, s.cred.ServerKey, authMessage))), nil
}

// decodeSASLName undoes RFC 5802's saslname escaping: "=2C" is ',' and "=3D"
// is '='; any other '=' is invalid.
func decodeSASLName(s string) (string, bool) {
	if !strings.Contains(s, "=") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", false
		}
		i += 2
	}
	return b.String(), true
}

// validNonce checks RFC 5802's printable: %x21-2B / %x2D-7E (no comma).
func validNonce(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

// validCBName checks RFC 5802's cb-name: 1*(ALPHA / DIGIT / "." / "-").
func validCBName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func randomNonce() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawStdEncoding.EncodeToString(b), nil
}
