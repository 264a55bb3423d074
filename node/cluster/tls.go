package cluster

import (
	"crypto/tls"
	"fmt"
	"path/filepath"

	"github.com/mongoose-go/mongoose-go/xmpp/tlscert"
)

// CertDir holds the cluster port's TLS identity inside the data dir, apart from the
// c2s listeners' certificate.
const CertDir = "cluster-tls"

// loadOrCreateCert returns the node's cluster certificate, generating and persisting a
// self-signed one on first start. Peers never verify it: what authenticates a peer is
// the cluster secret bound to the TLS session (see handshake.go), so the certificate only
// has to exist and stay stable enough for TLS to run.
func loadOrCreateCert(dataDir, nodeName string) (tls.Certificate, error) {
	cert, err := tlscert.LoadOrCreate(filepath.Join(dataDir, CertDir), []string{nodeName})
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cluster: certificate: %w", err)
	}
	return cert, nil
}

func serverTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{alpn},
	}
}

func clientTLS() *tls.Config {
	return &tls.Config{
		// Peers present self-signed certificates; the secret-based handshake bound to
		// this session's exporter is what proves the peer, so chain checks would only
		// add certificate distribution work without adding security.
		InsecureSkipVerify: true, //nolint:gosec // see above
		MinVersion:         tls.VersionTLS13,
		NextProtos:         []string{alpn},
	}
}

// alpn names the protocol so a cluster port is never mistaken for another TLS service.
const alpn = "mongoose-go-cluster/1"
