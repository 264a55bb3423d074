package cluster

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
)

// After TLS, both ends prove the cluster secret to each other:
//
//	client -> server  magic "MGC1" | nonceC (32)
//	server -> client  nonceS (32) | macS (32)
//	client -> server  macC (32) | channel (1) | len | client name | len | client address
//	server -> client  0x00 | len | server name | len | server address
//
// mac = HMAC-SHA256(secret, exporter || role || nonceC || nonceS), where exporter is the
// TLS session's exported keying material (RFC 8446 section 7.5). Binding the proof to
// the session means a relay that terminates TLS on both sides holds two different
// exporters and cannot forward either proof; the role label keeps a server's proof from
// being reflected back as a client's. The client checks the server first, so it never
// answers a peer that has not proved the secret; the server hands the connection to
// raft, rpc or mesh only after the client's proof checks out.

const (
	magic         = "MGC1"
	nonceLen      = 32
	macLen        = sha256.Size
	exporterName  = "EXPORTER-mongoose-go-cluster-auth"
	roleClient    = "client"
	roleServer    = "server"
	statusOK      = 0x00
	statusRefused = 0x01
	maxIDLen      = 255
)

// ErrSecretMismatch means the peer does not hold the same cluster secret.
var ErrSecretMismatch = errors.New("cluster secret mismatch")

// ErrRefused means the peer authenticated us but does not serve the channel now (its
// raft is restarting, it has no mesh handler, or it cut us off).
var ErrRefused = errors.New("peer refused the connection")

// ErrHandshakeTimeout means the address accepted a connection but did not complete the
// handshake in time: a silent service, or a node too overloaded to answer.
var ErrHandshakeTimeout = errors.New("no complete cluster handshake in time")

// ErrNotClusterPort means the address answered, but not as a mongoose-go cluster port.
var ErrNotClusterPort = errors.New("not a mongoose-go cluster port")

// Peer identifies the node at the other end of an authenticated connection, as that
// node introduced itself during the handshake.
type Peer struct {
	Name string
	Addr string // the address it advertises to the cluster
}

func mac(secret []byte, exporter []byte, role string, nonceC, nonceS []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(exporter)
	h.Write([]byte(role))
	h.Write(nonceC)
	h.Write(nonceS)
	return h.Sum(nil)
}

func exporter(c *tls.Conn) ([]byte, error) {
	st := c.ConnectionState()
	return st.ExportKeyingMaterial(exporterName, nil, 32)
}

// clientHandshake runs the client side on an established TLS connection and returns
// who the server is. The caller sets the deadline.
func clientHandshake(c *tls.Conn, secret []byte, ch byte, self Peer) (Peer, error) {
	if err := c.Handshake(); err != nil {
		return Peer{}, fmt.Errorf("%w: TLS: %w", ErrNotClusterPort, err)
	}
	if c.ConnectionState().NegotiatedProtocol != alpn {
		return Peer{}, fmt.Errorf("%w: peer does not speak %s", ErrNotClusterPort, alpn)
	}
	ekm, err := exporter(c)
	if err != nil {
		return Peer{}, fmt.Errorf("cluster: exporter: %w", err)
	}
	nonceC := make([]byte, nonceLen)
	if _, err := rand.Read(nonceC); err != nil {
		return Peer{}, err
	}
	if _, err := c.Write(append([]byte(magic), nonceC...)); err != nil {
		return Peer{}, fmt.Errorf("cluster: handshake: %w", err)
	}
	// Reads go straight to the connection, never through a buffer: a byte the peer
	// sends right after the handshake belongs to the channel's owner.
	buf := make([]byte, nonceLen+macLen)
	if _, err := io.ReadFull(c, buf); err != nil {
		return Peer{}, fmt.Errorf("%w: no answer to the handshake: %w", ErrNotClusterPort, err)
	}
	nonceS, macS := buf[:nonceLen], buf[nonceLen:]
	if !hmac.Equal(macS, mac(secret, ekm, roleServer, nonceC, nonceS)) {
		return Peer{}, ErrSecretMismatch
	}
	msg := append(mac(secret, ekm, roleClient, nonceC, nonceS), ch)
	msg = appendID(msg, self.Name)
	msg = appendID(msg, self.Addr)
	if _, err := c.Write(msg); err != nil {
		return Peer{}, fmt.Errorf("cluster: handshake: %w", err)
	}
	var st [1]byte
	if _, err := io.ReadFull(c, st[:]); err != nil {
		// Our proof checked out against the server's, so only a server that changed its
		// mind (or a relay) closes here.
		return Peer{}, fmt.Errorf("%w: the peer closed the connection after authentication: %w", ErrSecretMismatch, err)
	}
	if st[0] != statusOK {
		return Peer{}, fmt.Errorf("%w: channel %d", ErrRefused, ch)
	}
	var peer Peer
	if peer.Name, err = readIDFrom(c); err != nil {
		return Peer{}, fmt.Errorf("cluster: handshake: %w", err)
	}
	if peer.Addr, err = readIDFrom(c); err != nil {
		return Peer{}, fmt.Errorf("cluster: handshake: %w", err)
	}
	return peer, nil
}

// serverHandshake runs the server side and returns the channel the client asked for
// and who it is. Nothing the client sends after its proof is read before the proof is
// checked. The caller sets the deadline and closes the connection on error.
func serverHandshake(c *tls.Conn, secret []byte, self Peer, accept func(ch byte, peer Peer) bool) (byte, Peer, error) {
	if err := c.Handshake(); err != nil {
		return 0, Peer{}, fmt.Errorf("TLS: %w", err)
	}
	ekm, err := exporter(c)
	if err != nil {
		return 0, Peer{}, fmt.Errorf("exporter: %w", err)
	}
	hello := make([]byte, len(magic)+nonceLen)
	if _, err := io.ReadFull(c, hello); err != nil {
		return 0, Peer{}, fmt.Errorf("hello: %w", err)
	}
	if string(hello[:len(magic)]) != magic {
		return 0, Peer{}, errors.New("bad magic")
	}
	nonceC := hello[len(magic):]
	nonceS := make([]byte, nonceLen)
	if _, err := rand.Read(nonceS); err != nil {
		return 0, Peer{}, err
	}
	if _, err := c.Write(append(nonceS, mac(secret, ekm, roleServer, nonceC, nonceS)...)); err != nil {
		return 0, Peer{}, err
	}
	// Read exactly the proof: the bytes after it are only looked at once it holds.
	macC := make([]byte, macLen)
	if _, err := io.ReadFull(c, macC); err != nil {
		return 0, Peer{}, fmt.Errorf("client proof: %w", err)
	}
	if !hmac.Equal(macC, mac(secret, ekm, roleClient, nonceC, nonceS)) {
		return 0, Peer{}, ErrSecretMismatch
	}
	var one [1]byte
	if _, err := io.ReadFull(c, one[:]); err != nil {
		return 0, Peer{}, fmt.Errorf("channel: %w", err)
	}
	var peer Peer
	if peer.Name, err = readIDFrom(c); err != nil {
		return 0, Peer{}, err
	}
	if peer.Addr, err = readIDFrom(c); err != nil {
		return 0, Peer{}, err
	}
	if !accept(one[0], peer) {
		_, _ = c.Write([]byte{statusRefused})
		return 0, Peer{}, fmt.Errorf("channel %d refused", one[0])
	}
	ack := appendID(appendID([]byte{statusOK}, self.Name), self.Addr)
	if _, err := c.Write(ack); err != nil {
		return 0, Peer{}, err
	}
	return one[0], peer, nil
}

func appendID(b []byte, s string) []byte {
	if len(s) > maxIDLen {
		s = s[:maxIDLen]
	}
	return append(append(b, byte(len(s))), s...)
}

// readIDFrom reads a length-prefixed identity straight from the connection, so no
// byte past it is consumed into a buffer the channel's owner would not see.
func readIDFrom(c net.Conn) (string, error) {
	var n [1]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return "", err
	}
	b := make([]byte, n[0])
	if _, err := io.ReadFull(c, b); err != nil {
		return "", err
	}
	return string(b), nil
}
