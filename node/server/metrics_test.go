package server_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/xmpp/isolation"
	"github.com/mongoose-go/mongoose-go/xmpp/mam"
)

// scrape is one parse of a server's /metrics.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, url string) scrape {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return fams
}

// value returns the sample of name whose labels include want (label=value pairs),
// and whether there is one.
func (s scrape) value(name string, want ...string) (float64, bool) {
	f, ok := s[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// check is one expectation on a scrape: a sample and how it must compare.
type check struct {
	name   string
	labels []string
	op     string // "==" or ">="
	want   float64
}

func (c check) holds(s scrape) (float64, bool) {
	v, ok := s.value(c.name, c.labels...)
	if !ok {
		return 0, false
	}
	if c.op == ">=" {
		return v, v >= c.want
	}
	return v, v == c.want
}

func (c check) String() string {
	return fmt.Sprintf("%s%v %s %v", c.name, c.labels, c.op, c.want)
}

// awaitMetrics scrapes url until every check holds (counters that move after the
// triggering stanza, such as archive writes, are polled rather than slept for).
func awaitMetrics(t *testing.T, url string, checks ...check) scrape {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := scrapeMetrics(t, url)
		var failed []string
		for _, c := range checks {
			if v, ok := c.holds(s); !ok {
				failed = append(failed, fmt.Sprintf("%s (got %v)", c, v))
			}
		}
		if len(failed) == 0 {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never matched:\n%s", strings.Join(failed, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func eq(name string, want float64, labels ...string) check {
	return check{name: name, labels: labels, op: "==", want: want}
}

func atLeast(name string, want float64, labels ...string) check {
	return check{name: name, labels: labels, op: ">=", want: want}
}

// metricsServer starts TestConfig (which keeps the default configuration's metrics
// listener, on an ephemeral port) with host type "mx": the default modules plus
// mod_mam (one-to-one) and mod_domain_isolation. It returns the server, the admin
// API base URL and the metrics URL.
func metricsServer(t *testing.T) (*server.Server, string, string) {
	t.Helper()
	cfg := server.TestConfig(t.TempDir())
	cfg.General.HostTypes = append(cfg.General.HostTypes, "mx")
	mods := maps.Clone(cfg.Modules)
	mods[isolation.Name] = config.Module{Name: isolation.Name}
	mods[mam.Name] = config.Module{Name: mam.Name, Opts: map[string]any{"pm": map[string]any{}}}
	cfg.HostConfigs = append(cfg.HostConfigs, config.HostConfig{HostType: "mx", Modules: mods})
	s, api := serve(t, cfg)
	if len(s.MetricsAddrs()) != 1 {
		t.Fatalf("metrics listeners: %v", s.MetricsAddrs())
	}
	return s, api, "http://" + s.MetricsAddrs()[0] + "/metrics"
}

// TestMetricsEndToEnd drives a server over real sockets and reads the effect on
// /metrics: logins (good and bad), messages, an offline message, a stanza domain
// isolation drops, one for an unknown domain, a MAM query.
func TestMetricsEndToEnd(t *testing.T) {
	t.Parallel()
	s, api, url := metricsServer(t)
	for _, d := range []string{"a.example", "b.example"} {
		if code := rest(t, "PUT", api+"/domains/"+d, `{"host_type":"mx"}`); code != 204 {
			t.Fatalf("add %s: %d", d, code)
		}
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if code := rest(t, "POST", api+"/users/a.example", `{"username":"`+u+`","password":"pw"}`); code != 201 {
			t.Fatalf("add %s: %d", u, code)
		}
	}
	addr := s.C2SAddrs()[0]

	before := scrapeMetrics(t, url)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := before[name]; !ok {
			t.Errorf("%s missing: runtime and process collectors not registered", name)
		}
	}
	if v, ok := before.value("raft_leader"); !ok || v != 1 {
		t.Errorf("raft_leader = %v, %v; want 1 on a single node", v, ok)
	}
	if v, ok := before.value("cluster_members"); !ok || v != 1 {
		t.Errorf("cluster_members = %v, %v; want 1", v, ok)
	}
	if v, ok := before.value("raft_applied_index"); !ok || v < 1 {
		t.Errorf("raft_applied_index = %v, %v", v, ok)
	}

	alice := rawLogin(t, addr, "alice", "a.example")
	bob := rawLogin(t, addr, "bob", "a.example")
	if _, err := meshtest.Login(addr, "alice", "a.example", "wrong", "x"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}

	for i := range 3 {
		isoSend(t, alice, meshtest.Message("bob@a.example", fmt.Sprintf("m%d", i)))
		if _, err := bob.Expect(meshtest.Timeout, meshtest.Body(fmt.Sprintf("m%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	// carol has no session: mod_offline stores it.
	isoSend(t, alice, meshtest.Message("carol@a.example", "later"))
	// Another tenant: domain isolation drops it and says so.
	isoSend(t, alice, `<message type='chat' to='bob@b.example' id='iso'><body>x</body></message>`)
	if _, err := alice.Expect(meshtest.Timeout, meshtest.Named("message")); err != nil {
		t.Fatal(err)
	}
	// A domain nobody serves: remote-server-not-found.
	isoSend(t, alice, `<message type='chat' to='x@nowhere.example' id='nr'><body>x</body></message>`)
	if _, err := alice.Expect(meshtest.Timeout, meshtest.Named("message")); err != nil {
		t.Fatal(err)
	}
	isoSend(t, alice, `<iq type='set' id='q1'><query xmlns='urn:xmpp:mam:2' queryid='q1'/></iq>`)
	if _, err := alice.Expect(meshtest.Timeout, meshtest.IQ("q1")); err != nil {
		t.Fatal(err)
	}

	mx := []string{"host_type", "mx"}
	got := awaitMetrics(t, url,
		eq("c2s_auth_success_count", 2, mx...),
		eq("c2s_auth_failed_count", 1, mx...),
		// alice: presence, 6 messages, the MAM IQ; bob: presence.
		eq("c2s_element_in_stanza_count", 9, mx...),
		// bob got 3 messages; each got its presence echo; alice 2 errors, the IQ result.
		atLeast("c2s_element_out_stanza_count", 8, mx...),
		eq("sm_node_sessions_count", 2),
		eq("sm_session_count", 2, mx...),
		eq("c2s_tcp_connections_accepted_count", 3),
		eq("c2s_tcp_connections_open", 2),
		eq("router_stanza_dropped_count", 1, mx...),
		eq("router_no_route_found_count", 1, mx...),
		eq("mod_mam_pm_lookup_count", 1, mx...),
		// 3 messages to bob and 1 to carol, each in sender's and recipient's
		// archive; the 2 refused ones only in alice's (archived as she sends).
		eq("mod_mam_pm_archive_message_count", 10, mx...),
		eq("mod_offline_stored_count", 1, mx...),
		eq("dynamic_domains", 2, "host_type", "mx", "status", "enabled"),
		eq("domain_added_count", 2, mx...),
		eq("raft_leader", 1),
		eq("raft_last_contact_seconds", 0),
	)
	if v, _ := got.value("raft_commit_index"); v < 1 {
		t.Errorf("raft_commit_index = %v", v)
	}

	// Sessions ending bring the gauges back down.
	alice.Close()
	bob.Close()
	awaitMetrics(t, url, eq("sm_node_sessions_count", 0), eq("sm_session_count", 0, mx...), eq("c2s_tcp_connections_open", 0))
}

// TestMetricsDomains follows the dynamic domain gauge and counters through the REST
// API's add, disable and remove.
func TestMetricsDomains(t *testing.T) {
	t.Parallel()
	_, api, url := metricsServer(t)
	basic := func(status string) []string { return []string{"host_type", "basic", "status", status} }
	// Every configured host type shows, at 0.
	awaitMetrics(t, url, eq("dynamic_domains", 0, basic("enabled")...), eq("dynamic_domains", 0, "host_type", "mx", "status", "disabled"))

	for _, d := range []string{"one.example", "two.example"} {
		if code := rest(t, "PUT", api+"/domains/"+d, `{"host_type":"basic"}`); code != 204 {
			t.Fatalf("add %s: %d", d, code)
		}
	}
	awaitMetrics(t, url, eq("dynamic_domains", 2, basic("enabled")...), eq("domain_added_count", 2, "host_type", "basic"))

	if code := rest(t, "PATCH", api+"/domains/one.example", `{"enabled":false}`); code != 204 {
		t.Fatalf("disable: %d", code)
	}
	awaitMetrics(t, url, eq("dynamic_domains", 1, basic("enabled")...), eq("dynamic_domains", 1, basic("disabled")...))

	if code := rest(t, "DELETE", api+"/domains/two.example", `{"host_type":"basic"}`); code != 204 {
		t.Fatalf("remove: %d", code)
	}
	awaitMetrics(t, url,
		eq("dynamic_domains", 0, basic("enabled")...),
		eq("dynamic_domains", 1, basic("disabled")...),
		eq("dynamic_domains", 0, basic("deleting")...),
		eq("domain_removed_count", 1, "host_type", "basic"),
	)
}

// TestMetricsListenerSharedWithAdminAPI: both handlers on one listener, and a
// handler bound to a Host that the request does not name.
func TestMetricsListenerSharedWithAdminAPI(t *testing.T) {
	t.Parallel()
	cfg := server.TestConfig(t.TempDir())
	cfg.Listen.HTTP = cfg.Listen.HTTP[:1] // the admin API listener
	cfg.Listen.HTTP[0].Prometheus = &config.PrometheusHandler{Host: "_", Path: "/metrics"}
	s, api := serve(t, cfg)
	if got := s.MetricsAddrs(); len(got) != 1 || got[0] != s.AdminAddrs()[0] {
		t.Fatalf("metrics on %v, admin API on %v", got, s.AdminAddrs())
	}
	if v, ok := scrapeMetrics(t, "http://"+s.AdminAddrs()[0]+"/metrics").value("raft_leader"); !ok || v != 1 {
		t.Errorf("raft_leader = %v, %v", v, ok)
	}
	if code := rest(t, "GET", api+"/domains", ""); code != 200 {
		t.Errorf("admin API beside metrics: GET /domains = %d", code)
	}

	cfg = server.TestConfig(t.TempDir())
	cfg.Listen.HTTP[1].Prometheus.Host = "metrics.example"
	s, _ = serve(t, cfg)
	url := "http://" + s.MetricsAddrs()[0] + "/metrics"
	if code := rest(t, "GET", url, ""); code != http.StatusNotFound {
		t.Errorf("wrong Host: %d, want 404", code)
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = "metrics.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("configured Host: %d, want 200", resp.StatusCode)
	}
}

// The metrics listener must not keep a server from stopping, nor its port bound.
func TestMetricsListenerCloses(t *testing.T) {
	t.Parallel()
	s, err := server.Start(server.TestConfig(t.TempDir()), server.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	addr := s.MetricsAddrs()[0]
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		resp.Body.Close()
		t.Fatal("metrics still served after Close")
	}
}

// TestMetricsRoomArchive: MUC Light group messages count once each in the room
// archive counter (not per occupant), and a query at the room JID as a room lookup.
func TestMetricsRoomArchive(t *testing.T) {
	t.Parallel()
	s, _ := roomArchiveServer(t)
	url := "http://" + s.MetricsAddrs()[0] + "/metrics"
	addr := s.C2SAddrs()[0]
	c := map[string]*mc{}
	for _, u := range mucUsers {
		c[u] = mucLogin(t, addr, u, "a.example")
	}
	createTeam(t, c)
	for i := 1; i <= 2; i++ {
		isoSend(t, c["bob"].Client, fmt.Sprintf(`<message type="groupchat" id="g%d" to="%s"><body>m%d</body></message>`, i, room, i))
		for _, u := range mucUsers {
			expectEl(t, c[u], meshtest.Body(fmt.Sprintf("m%d", i)))
		}
	}
	if _, cond := roomQuery(t, c["alice"].Client, room, ""); cond != "" {
		t.Fatalf("room query: %s", cond)
	}
	group := []string{"host_type", "group"}
	awaitMetrics(t, url,
		eq("mod_mam_muc_archive_message_count", 2, group...),
		eq("mod_mam_muc_lookup_count", 1, group...),
		eq("mod_mam_pm_lookup_count", 0, group...),
	)
}
