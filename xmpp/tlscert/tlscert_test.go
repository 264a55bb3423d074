package tlscert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func leaf(t *testing.T, c tls.Certificate) *x509.Certificate {
	t.Helper()
	l, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLoadOrCreateGeneratesOnceAndReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	hosts := []string{"example.com", "chat.example.com", "127.0.0.1"}
	c1, err := LoadOrCreate(dir, hosts)
	if err != nil {
		t.Fatal(err)
	}
	l1 := leaf(t, c1)
	for _, h := range hosts {
		if err := l1.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not name %s: %v", h, err)
		}
	}
	if !l1.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) || l1.Subject.CommonName != "example.com" {
		t.Errorf("ips %v cn %q", l1.IPAddresses, l1.Subject.CommonName)
	}
	pub, ok := l1.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() || l1.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		t.Errorf("key %T sig %v, want ECDSA P-256 with SHA-256", l1.PublicKey, l1.SignatureAlgorithm)
	}
	if got := l1.NotAfter.Sub(l1.NotBefore); got < Validity {
		t.Errorf("validity %v", got)
	}
	ki, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if ki.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", ki.Mode().Perm())
	}
	// The same hosts (or a subset) reuse the stored certificate.
	c2, err := LoadOrCreate(dir, hosts[:1])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c1.Certificate[0], c2.Certificate[0]) {
		t.Error("second call generated a new certificate")
	}
	// A host the stored certificate does not name forces a new one.
	c3, err := LoadOrCreate(dir, []string{"example.com", "other.example"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(c1.Certificate[0], c3.Certificate[0]) {
		t.Fatal("certificate not regenerated for a new host")
	}
	if err := leaf(t, c3).VerifyHostname("other.example"); err != nil {
		t.Error(err)
	}
	c4, err := LoadOrCreate(dir, []string{"other.example"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c3.Certificate[0], c4.Certificate[0]) {
		t.Error("regenerated certificate was not persisted")
	}
}

func TestLoadOrCreateServesTLS(t *testing.T) {
	cert, err := LoadOrCreate(t.TempDir(), []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf(t, cert))
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("client does not accept the pinned certificate: %v", err)
	}
	c.Close()
}

func TestExpiredCertificateIsReplaced(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * Validity)
	certPEM, keyPEM, err := Generate([]string{"example.com"}, old)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CertFile), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadOrCreate(dir, []string{"example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if l := leaf(t, c); time.Now().After(l.NotAfter) {
		t.Errorf("expired certificate kept (NotAfter %v)", l.NotAfter)
	}
}

func TestCorruptFilesAreAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CertFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(dir, []string{"example.com"}); err == nil {
		t.Fatal("corrupt PEM files silently replaced")
	}
	if _, err := LoadOrCreate(dir, nil); err == nil {
		t.Fatal("no hosts accepted")
	}
}
