package server_test

import (
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/server"
)

// A tls section on the HTTP listener makes the admin API HTTPS, and tls.versions
// bounds what the c2s listener accepts.
func TestListenerTLSSettings(t *testing.T) {
	cfg := server.TestConfig(t.TempDir())
	cfg.Listen.HTTP[0].TLS = &config.TLSConfig{Mode: "tls"}
	cfg.Listen.C2S[0].TLS = &config.TLSConfig{Mode: "tls", Versions: []string{"tlsv1.3"}}
	s := startServer(t, cfg)
	defer s.Close()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get("https://" + s.AdminAddrs()[0] + "/api/status")
	if err != nil {
		t.Fatalf("HTTPS admin API: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
	if _, err := http.Get("http://" + s.AdminAddrs()[0] + "/api/status"); err == nil {
		// Go's TLS server answers plain HTTP with a 400, which is fine; a 200 is not.
		r, _ := http.Get("http://" + s.AdminAddrs()[0] + "/api/status")
		if r != nil && r.StatusCode == 200 {
			t.Error("plain HTTP served on a TLS listener")
		}
	}
	old := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}
	if conn, err := tls.Dial("tcp", s.C2SAddrs()[0], old); err == nil {
		conn.Close()
		t.Error("TLS 1.2 accepted with versions = [tlsv1.3]")
	}
	conn, err := tls.Dial("tcp", s.C2SAddrs()[0], &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("direct TLS 1.3: %v", err)
	}
	conn.Close()
}
