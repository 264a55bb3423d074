package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/xmpp/tlscert"
)

// tlsConfig builds a listener's TLS settings from its tls section: the certificate
// (configured, or generated once into the data dir), client certificate checking
// (verify_mode, cacertfile) and protocol versions.
func (s *Server) tlsConfig(t *config.TLSConfig) (*tls.Config, error) {
	cert, err := s.certificate(t)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	switch t.VerifyMode {
	case "", "peer":
		// MongooseIM accepts clients without a certificate; one that is presented
		// must chain to cacertfile.
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if t.CACertFile == "" {
			tc.ClientAuth = tls.NoClientCert
		}
	case "selfsigned_peer":
		tc.ClientAuth = tls.RequestClientCert
	case "none":
		tc.ClientAuth = tls.NoClientCert
	}
	if t.CACertFile != "" {
		pem, err := os.ReadFile(t.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cacertfile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.cacertfile %s: %w", t.CACertFile, errNoCerts)
		}
		tc.ClientCAs = pool
	}
	if len(t.Versions) > 0 {
		tc.MinVersion, tc.MaxVersion = 0, 0
		for _, v := range t.Versions {
			n, ok := tlsVersions[v]
			if !ok {
				return nil, fmt.Errorf("tls.versions: unknown version %q", v)
			}
			if tc.MinVersion == 0 || n < tc.MinVersion {
				tc.MinVersion = n
			}
			if n > tc.MaxVersion {
				tc.MaxVersion = n
			}
		}
	}
	return tc, nil
}

var errNoCerts = errors.New("no PEM certificates found")

var tlsVersions = map[string]uint16{
	"tlsv1":   tls.VersionTLS10,
	"tlsv1.1": tls.VersionTLS11,
	"tlsv1.2": tls.VersionTLS12,
	"tlsv1.3": tls.VersionTLS13,
}

// certificate loads the configured certificate, or generates a self-signed one once
// into the data dir for the static hosts and the default server domain. Dynamic
// domains come and go at run time, so clients of those need a real certificate
// configured or must be told to trust this one.
func (s *Server) certificate(t *config.TLSConfig) (tls.Certificate, error) {
	if t.CertFile != "" {
		return tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	}
	hosts := append([]string{s.cfg.General.DefaultServerDomain}, s.cfg.General.Hosts...)
	return tlscert.LoadOrCreate(s.cfg.Cluster.DataDir, hosts)
}
