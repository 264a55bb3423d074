package scram

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	msasl "mellium.im/sasl"
)

func selfSigned(t *testing.T, key crypto.Signer, alg x509.SignatureAlgorithm) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:       big.NewInt(1),
		Subject:            pkix.Name{CommonName: "example.com"},
		DNSNames:           []string{"example.com"},
		NotBefore:          time.Now().Add(-time.Hour),
		NotAfter:           time.Now().Add(time.Hour),
		SignatureAlgorithm: alg,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// tlsPair runs a TLS handshake over an in-memory pipe and returns both
// sides' connection states.
func tlsPair(t *testing.T, maxVersion uint16) (client, server tls.ConnectionState, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert = selfSigned(t, key, x509.ECDSAWithSHA256)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	c1, c2 := net.Pipe()
	t.Cleanup(func() { c1.Close(); c2.Close() })
	srv := tls.Server(c1, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}},
		MaxVersion:   maxVersion,
	})
	cli := tls.Client(c2, &tls.Config{RootCAs: roots, ServerName: "example.com", MaxVersion: maxVersion})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return cli.ConnectionState(), srv.ConnectionState(), cert
}

// melliumExchange authenticates mellium.im/sasl's client against our Server.
func melliumExchange(t *testing.T, mech msasl.Mechanism, s *Server, opts ...msasl.Option) error {
	t.Helper()
	opts = append(opts, msasl.Credentials(func() ([]byte, []byte, []byte) {
		return []byte("juliet"), []byte("pencil"), nil
	}))
	c := msasl.NewClient(mech, opts...)
	more, msg, err := c.Step(nil)
	if err != nil || !more {
		t.Fatalf("mellium client-first: %v", err)
	}
	for {
		reply, done, err := s.Step(msg)
		if err != nil {
			return err
		}
		more, msg, err = c.Step(reply)
		if err != nil {
			t.Fatalf("mellium rejected server message %q: %v", reply, err)
		}
		if done {
			if more {
				t.Fatal("mellium expects more after server-final")
			}
			return nil
		}
	}
}

func TestMelliumClient(t *testing.T) {
	lookup := users(map[string]Credentials{"juliet": derive(t, "pencil", SHA1, SHA256)})
	for _, tc := range []struct {
		mech msasl.Mechanism
		h    Hash
	}{{msasl.ScramSha1, SHA1}, {msasl.ScramSha256, SHA256}} {
		s := NewServer(tc.h.Mechanism(), lookup, ChannelBinding{})
		if err := melliumExchange(t, tc.mech, s); err != nil {
			t.Errorf("%s: %v", tc.h.Mechanism(), err)
		}
	}

	// SCRAM-SHA-256-PLUS over TLS 1.3: mellium binds with tls-exporter.
	cs, ss, _ := tlsPair(t, tls.VersionTLS13)
	cb, err := ExporterBinding(ss)
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer("SCRAM-SHA-256-PLUS", lookup, cb)
	if err := melliumExchange(t, msasl.ScramSha256Plus, s, msasl.TLSState(cs), msasl.RemoteMechanisms("SCRAM-SHA-256-PLUS")); err != nil {
		t.Errorf("SCRAM-SHA-256-PLUS: %v", err)
	}
	// The same client on another TLS connection: binding data differs.
	_, other, _ := tlsPair(t, tls.VersionTLS13)
	cb2, err := ExporterBinding(other)
	if err != nil {
		t.Fatal(err)
	}
	s = NewServer("SCRAM-SHA-256-PLUS", lookup, cb2)
	if err := melliumExchange(t, msasl.ScramSha256Plus, s, msasl.TLSState(cs), msasl.RemoteMechanisms("SCRAM-SHA-256-PLUS")); !errors.Is(err, ErrNotAuthorized) {
		t.Errorf("relayed to another connection: %v, want ErrNotAuthorized", err)
	}
}

func TestExporterBinding(t *testing.T) {
	cs, ss, _ := tlsPair(t, tls.VersionTLS13)
	a, err := ExporterBinding(cs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ExporterBinding(ss)
	if err != nil {
		t.Fatal(err)
	}
	if a.Type != TLSExporter || len(a.Data) != 32 || string(a.Data) != string(b.Data) {
		t.Errorf("client %x, server %x", a.Data, b.Data)
	}
	if _, err := ExporterBinding(tls.ConnectionState{}); err == nil {
		t.Error("ExporterBinding without a handshake succeeded")
	}
}

func TestServerEndPointBinding(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)

	c := selfSigned(t, p256, x509.ECDSAWithSHA256)
	b, err := ServerEndPointBinding(c)
	if s := sha256.Sum256(c.Raw); err != nil || b.Type != TLSServerEndPoint || string(b.Data) != string(s[:]) {
		t.Errorf("ECDSA-SHA256: %x, %v", b.Data, err)
	}
	c = selfSigned(t, p384, x509.ECDSAWithSHA384)
	b, err = ServerEndPointBinding(c)
	if s := sha512.Sum384(c.Raw); err != nil || string(b.Data) != string(s[:]) {
		t.Errorf("ECDSA-SHA384: %x, %v", b.Data, err)
	}
	// SHA-1 signatures are upgraded to SHA-256 (RFC 5929 section 4.1).
	c = &x509.Certificate{Raw: []byte("cert"), SignatureAlgorithm: x509.SHA1WithRSA}
	b, err = ServerEndPointBinding(c)
	if s := sha256.Sum256(c.Raw); err != nil || string(b.Data) != string(s[:]) {
		t.Errorf("SHA1WithRSA: %x, %v", b.Data, err)
	}
	if _, err := ServerEndPointBinding(selfSigned(t, ed, x509.PureEd25519)); err == nil {
		t.Error("Ed25519 certificate: no error")
	}
}
