package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/loadgen"
	"github.com/mongoose-go/mongoose-go/node/server"
)

// startLoadTarget runs a node in this process: c2s without TLS (PLAIN in clear, as a
// load listener is configured) and the admin API, both on loopback.
func startLoadTarget(t *testing.T, tls bool) (xmppAddr, api string) {
	t.Helper()
	cfg := server.TestConfig(t.TempDir())
	if tls {
		cfg.Listen.C2S[0].TLS = &config.TLSConfig{Mode: "starttls_required"}
	}
	s, err := server.Start(cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return s.C2SAddrs()[0], "http://" + s.AdminAddrs()[0] + "/api"
}

func TestLoadChat(t *testing.T) {
	xmppAddr, api := startLoadTarget(t, false)
	out, err := runCLI(t, "load", "chat", "--xmpp", xmppAddr, "--api", api, "--provision",
		"--prefix", "chat-", "--domains", "2", "--users-per-domain", "3", "--messages", "5", "--duration", "20s")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "sent 30, received 30, lost 0;") || !strings.Contains(out, "6 logins (0 failed)") {
		t.Errorf("summary:\n%s", out)
	}
	for _, metric := range []string{"connections", "messages_sent", "message_ttd p50/p99/max", "logins_per_second"} {
		if !strings.Contains(out, metric) {
			t.Errorf("no %s in the table:\n%s", metric, out)
		}
	}

	// The accounts exist now: a second run without --provision, over SCRAM, as JSON.
	out, err = runCLI(t, "load", "chat", "--xmpp", xmppAddr, "--prefix", "chat-", "--domains", "2",
		"--users-per-domain", "3", "--messages", "2", "--mechanism", "SCRAM-SHA-256", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var res struct {
		Login    struct{ Connections int }
		Messages struct {
			Sent     int64 `json:"messages_sent"`
			Received int64 `json:"messages_received"`
			TTD      struct {
				Count int     `json:"count"`
				P99   float64 `json:"p99_ms"`
			} `json:"message_ttd"`
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if res.Login.Connections != 6 || res.Messages.Sent != 12 || res.Messages.Received != 12 ||
		res.Messages.TTD.Count != 12 || res.Messages.TTD.P99 <= 0 {
		t.Errorf("json: %+v\n%s", res, out)
	}

	// Users that do not exist cannot log in: the run fails and says why.
	out, err = runCLI(t, "load", "chat", "--xmpp", xmppAddr, "--prefix", "chat-", "--domains", "1",
		"--users-per-domain", "4", "--messages", "1")
	if err == nil || !strings.Contains(err.Error(), "1 logins failed") || !strings.Contains(out, "not-authorized") {
		t.Errorf("with a missing user: %v\n%s", err, out)
	}
}

// --tls negotiates STARTTLS on a listener that requires it, whatever its certificate.
func TestLoadChatStartTLS(t *testing.T) {
	xmppAddr, api := startLoadTarget(t, true)
	args := []string{"load", "chat", "--xmpp", xmppAddr, "--api", api, "--provision", "--users-per-domain", "2", "--messages", "3"}
	if out, err := runCLI(t, args...); !errors.Is(err, loadgen.ErrNoSessions) || !strings.Contains(err.Error(), "before STARTTLS") {
		t.Errorf("without --tls: %v\n%s", err, out)
	}
	out, err := runCLI(t, append(args, "--tls")...)
	if err != nil || !strings.Contains(out, "sent 6, received 6, lost 0;") {
		t.Errorf("with --tls: %v\n%s", err, out)
	}
}

func TestLoadChatNothingListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = runCLI(t, "load", "chat", "--xmpp", addr, "--users-per-domain", "2", "--messages", "1")
	if !errors.Is(err, loadgen.ErrNoSessions) {
		t.Errorf("closed port: %v", err)
	}
	if _, err := runCLI(t, "load", "chat", "--users-per-domain", "0"); err == nil {
		t.Error("zero users accepted")
	}
}

func TestLoadDomains(t *testing.T) {
	_, api := startLoadTarget(t, false)
	out, err := runCLI(t, "load", "domains", "--api", api, "--count", "25", "--host-type", "basic",
		"--prefix", "tenant-", "--concurrency", "4")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "created 25, already existed 0, failed 0") || !regexp.MustCompile(`domain_creation_requests +25\n`).MatchString(out) {
		t.Errorf("first run:\n%s", out)
	}
	out, err = runCLI(t, "load", "domains", "--api", api, "--count", "25", "--host-type", "basic",
		"--prefix", "tenant-", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var res loadgenDomainsJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Requests != 25 || res.Existed != 25 || res.Time.Count != 25 {
		t.Errorf("second run: %+v", res)
	}
	out, err = runCLI(t, "load", "domains", "--api", api, "--count", "3", "--host-type", "nope")
	if err == nil || !strings.Contains(out, "failed 3") {
		t.Errorf("unknown host type: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "load", "domains", "--api", api, "--count", "3"); err == nil {
		t.Error("no --host-type accepted")
	}
}

type loadgenDomainsJSON struct {
	Requests int `json:"domain_creation_requests"`
	Existed  int `json:"already_existed"`
	Time     struct {
		Count int `json:"count"`
	} `json:"domain_creation_time"`
}

// An unreachable API stops the run at once rather than failing every domain.
func TestLoadDomainsUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	out, err := runCLI(t, "load", "domains", "--api", "http://"+addr+"/api", "--count", "1000",
		"--host-type", "basic", "--concurrency", "2")
	if err == nil || !strings.Contains(err.Error(), "stopped after") {
		t.Fatalf("unreachable: %v\n%s", err, out)
	}
	if regexp.MustCompile(`not_attempted +0\n`).MatchString(out) {
		t.Errorf("every domain was attempted:\n%s", out)
	}
}
