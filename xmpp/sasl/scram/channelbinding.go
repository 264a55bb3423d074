package scram

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"fmt"
)

// Channel binding type names.
const (
	TLSExporter       = "tls-exporter"         // RFC 9266
	TLSServerEndPoint = "tls-server-end-point" // RFC 5929 section 4
)

// ExporterBinding returns the tls-exporter channel binding of a connection
// (RFC 9266): 32 bytes of keying material with the label
// "EXPORTER-Channel-Binding" and no context. It fails for TLS 1.2 without
// Extended Master Secret, where the exporter is not safe to use.
func ExporterBinding(cs tls.ConnectionState) (ChannelBinding, error) {
	if !cs.HandshakeComplete {
		return ChannelBinding{}, fmt.Errorf("scram: %s: handshake not complete", TLSExporter)
	}
	d, err := cs.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
	if err != nil {
		return ChannelBinding{}, fmt.Errorf("scram: %s: %w", TLSExporter, err)
	}
	return ChannelBinding{Type: TLSExporter, Data: d}, nil
}

// ServerEndPointBinding returns the tls-server-end-point channel binding for
// the server's certificate (RFC 5929 section 4.1): the certificate hashed
// with the hash of its signature algorithm, SHA-256 if that is MD5 or SHA-1.
// Signature algorithms without a hash (Ed25519) have no defined binding.
func ServerEndPointBinding(cert *x509.Certificate) (ChannelBinding, error) {
	var sum []byte
	switch cert.SignatureAlgorithm {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1,
		x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.ECDSAWithSHA256, x509.DSAWithSHA256:
		s := sha256.Sum256(cert.Raw)
		sum = s[:]
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		s := sha512.Sum384(cert.Raw)
		sum = s[:]
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		s := sha512.Sum512(cert.Raw)
		sum = s[:]
	default:
		return ChannelBinding{}, fmt.Errorf("scram: %s undefined for signature algorithm %v", TLSServerEndPoint, cert.SignatureAlgorithm)
	}
	return ChannelBinding{Type: TLSServerEndPoint, Data: sum}, nil
}
