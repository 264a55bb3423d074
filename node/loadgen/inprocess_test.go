package loadgen_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/loadgen"
	"github.com/mongoose-go/mongoose-go/node/server"
)

// start runs a real node: c2s without TLS (PLAIN allowed in clear) and cheap SCRAM.
func start(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.Start(server.TestConfig(t.TempDir()), server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestChatEveryMessageDelivered(t *testing.T) {
	s := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := loadgen.Chat(ctx, loadgen.ChatConfig{
		Login:           loadgen.LoginConfig{Addr: s.C2SAddrs()[0], Concurrency: 4, Presence: true},
		Domains:         loadgen.DomainNames("chat-", 2),
		UsersPerDomain:  3,
		MessagesPerUser: 5,
		Window:          2,
		Provisioner:     loadgen.NodeProvisioner{Node: s.Node},
		HostType:        "basic",
	})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Messages
	if res.Users != 6 || res.Login.Connections != 6 || res.Login.Failures != 0 {
		t.Errorf("login: %+v", res.Login)
	}
	if m.Sent != 30 || m.Received != 30 || m.Lost != 0 || m.TimedOut || m.TTD.Count != 30 || m.TTD.Max <= 0 {
		t.Errorf("messages: %+v", m)
	}
	if res.Disconnects != 0 {
		t.Errorf("%d sessions dropped", res.Disconnects)
	}
}

// An account that cannot log in still gets messages from its neighbours; they
// bounce with <service-unavailable/> and are counted as such, not as lost. Running
// twice on one fleet keeps the rounds apart.
func TestChatBouncesAndRepeatedExchanges(t *testing.T) {
	s := start(t)
	p := loadgen.NodeProvisioner{Node: s.Node}
	domains := []string{"bounce.example"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := loadgen.Provision(ctx, p, "basic", domains, loadgen.Accounts(domains, 2), 2); err != nil {
		t.Fatal(err)
	}
	// Again: what exists already is fine.
	if err := loadgen.Provision(ctx, p, "basic", domains, loadgen.Accounts(domains, 2), 2); err != nil {
		t.Fatalf("second provisioning: %v", err)
	}
	// user_3 was never created.
	fleet, login := loadgen.Login(ctx, loadgen.LoginConfig{Addr: s.C2SAddrs()[0], Presence: true}, loadgen.Accounts(domains, 3))
	defer fleet.Close()
	if login.Connections != 2 || login.Failures != 1 || len(login.Errors) != 1 {
		t.Fatalf("login: %+v", login)
	}
	// user_1 -> user_2, user_3 alternately; user_2 -> user_3, user_1 alternately.
	st := fleet.Exchange(ctx, loadgen.ExchangeConfig{Messages: 8})
	if st.Sent != 8 || st.Received != 4 || st.ServiceUnavailable != 4 || st.Lost != 0 || st.TimedOut {
		t.Errorf("first round: %+v", st)
	}
	st = fleet.Exchange(ctx, loadgen.ExchangeConfig{Messages: 3, Window: 1, Interval: time.Millisecond})
	if st.Sent != 3 || st.Received+st.ServiceUnavailable != 3 || st.TTD.Count != int(st.Received) {
		t.Errorf("second round: %+v", st)
	}
}

func TestCreateDomains(t *testing.T) {
	s := start(t)
	p := loadgen.NodeProvisioner{Node: s.Node}
	names := loadgen.DomainNames("tenant-", 20)
	res := loadgen.CreateDomains(context.Background(), p, loadgen.DomainsConfig{Names: names, HostType: "basic", Concurrency: 4})
	if res.Requests != 20 || res.Created != 20 || res.Failed != 0 || res.Time.Count != 20 || res.PerMinute <= 0 {
		t.Errorf("first run: %+v", res)
	}
	res = loadgen.CreateDomains(context.Background(), p, loadgen.DomainsConfig{Names: names, HostType: "basic", Concurrency: 4})
	if res.Existed != 20 || res.Created != 0 {
		t.Errorf("second run: %+v", res)
	}
	res = loadgen.CreateDomains(context.Background(), p, loadgen.DomainsConfig{
		Names: loadgen.DomainNames("other-", 5), HostType: "nope", Concurrency: 1,
		Fatal: func(error) bool { return true },
	})
	if res.Failed != 1 || res.NotAttempted != 4 || len(res.Errors) != 1 {
		t.Errorf("fatal error: %+v", res)
	}
}
