// Package tlscert provides the certificate a node serves when TLS is configured
// without a certificate file: a self-signed ECDSA P-256 certificate for the served
// domains, generated once and kept as PEM files in the data directory so that
// clients that pinned it keep trusting it across restarts.
package tlscert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// File names inside the directory given to LoadOrCreate.
const (
	CertFile = "tls-selfsigned-cert.pem"
	KeyFile  = "tls-selfsigned-key.pem"
)

// Validity of a generated certificate. Self-signed certificates are trusted by
// pinning, not by their dates, so a long life avoids a surprise expiry; the
// certificate is regenerated when it has expired anyway.
const Validity = 10 * 365 * 24 * time.Hour

// mu serialises LoadOrCreate within the process: several listeners may ask for
// the certificate at start-up and must end up with the same one.
var mu sync.Mutex

// LoadOrCreate returns the self-signed certificate kept in dir, creating dir and
// the certificate if needed. A stored certificate is reused if it is currently
// valid and names every one of hosts (DNS names or IP addresses); otherwise a new
// one is generated for hosts and replaces it. The key file is written with mode
// 0600. hosts must not be empty; the first host is the certificate's common name.
func LoadOrCreate(dir string, hosts []string) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("tlscert: no hosts to certify")
	}
	mu.Lock()
	defer mu.Unlock()
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	switch {
	case err == nil:
		if covers(cert, hosts, time.Now()) {
			return cert, nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return tls.Certificate{}, fmt.Errorf("tlscert: load %s: %w", certPath, err)
	}
	certPEM, keyPEM, err := Generate(hosts, time.Now())
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("tlscert: %w", err)
	}
	// Key first: a crash between the two writes leaves a key without a
	// matching certificate, which the next start detects and regenerates.
	if err := writeAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlscert: %w", err)
	}
	return cert, nil
}

// covers reports whether cert is valid at now and names every host.
func covers(cert tls.Certificate, hosts []string, now time.Time) bool {
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return false
		}
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// Generate makes a self-signed ECDSA P-256 server certificate for hosts, valid
// from an hour before now for Validity, and returns the certificate and the
// PKCS #8 private key as PEM.
func Generate(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("tlscert: no hosts to certify")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"mongoose-go self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.ECDSAWithSHA256,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: create: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: marshal key: %w", err)
	}
	var cb, kb bytes.Buffer
	_ = pem.Encode(&cb, &pem.Block{Type: "CERTIFICATE", Bytes: der}) // writes to a Buffer cannot fail
	_ = pem.Encode(&kb, &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return cb.Bytes(), kb.Bytes(), nil
}

// writeAtomic writes data to a temporary file in path's directory and renames it
// over path, so a reader never sees a half-written file.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("tlscert: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("tlscert: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("tlscert: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("tlscert: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tlscert: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("tlscert: %w", err)
	}
	ok = true
	return nil
}
