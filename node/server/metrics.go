package server

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/metrics"
)

// Metrics (docs/metrics.md). The XMPP packages count into a metrics.Set (plain
// atomics, see xmpp/metrics); this file turns the Set, the router's session count,
// the domain directory and raft's state into Prometheus metrics when scraped. Each
// server has its own registry, so servers started side by side in one process (the
// tests) never mix their numbers, and nothing is registered globally.

// serverMetrics is one server's registry and the collectors it feeds.
type serverMetrics struct {
	set      *metrics.Set
	registry *prometheus.Registry

	domainsAdded, domainsRemoved *prometheus.CounterVec
	mu                           sync.Mutex
	deleting                     map[string]string // domain being removed -> host type
}

func newServerMetrics() *serverMetrics {
	return &serverMetrics{
		set:      metrics.New(),
		registry: prometheus.NewRegistry(),
		domainsAdded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "domain_added_count", Help: "Dynamic domains added, as applied on this node.",
		}, []string{"host_type"}),
		domainsRemoved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "domain_removed_count", Help: "Dynamic domains removed (data and row gone), as applied on this node.",
		}, []string{"host_type"}),
		deleting: map[string]string{},
	}
}

// registerMetrics adds the runtime, process and server collectors to the registry
// and counts domain additions and removals as they apply. Called once the node is
// open.
func (s *Server) registerMetrics() {
	m := s.metrics
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.domainsAdded, m.domainsRemoved,
		&collector{s: s},
	)
	// OnApplied runs in the FSM goroutine: a counter and a small map only.
	s.Node.OnApplied(func(mut store.Mutation) {
		switch mut := mut.(type) {
		case *store.AddDomain:
			m.domainsAdded.WithLabelValues(mut.HostType).Inc()
		case *store.MarkDomainDeleting:
			// The row, and so the host type, is gone by the time the removal ends.
			if d, ok := s.Node.Directory().Get(mut.Name); ok {
				m.mu.Lock()
				m.deleting[mut.Name] = d.HostType
				m.mu.Unlock()
			}
		case *store.DeleteDomainRow:
			m.mu.Lock()
			ht := m.deleting[mut.Name]
			delete(m.deleting, mut.Name)
			m.mu.Unlock()
			m.domainsRemoved.WithLabelValues(ht).Inc()
		}
	})
}

// metricsHandler serves the registry at h.Path (for h.Host, unless "_"); other
// requests go to next, or get 404 when next is nil.
func (s *Server) metricsHandler(h *config.PrometheusHandler, next http.Handler) http.Handler {
	mux := http.NewServeMux()
	pattern := h.Path
	if h.Host != "_" {
		pattern = h.Host + h.Path
	}
	mux.Handle("GET "+pattern, promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{
		Registry: s.metrics.registry, // promhttp_metric_handler_errors_total
	}))
	if next != nil {
		mux.Handle("/", next)
	}
	return mux
}

// MetricsAddrs returns the bound addresses of the listeners with a
// mongoose_prometheus_handler, in config order.
func (s *Server) MetricsAddrs() []string { return append([]string(nil), s.metricsAddrs...) }

// MetricsRegistry returns the server's Prometheus registry.
func (s *Server) MetricsRegistry() *prometheus.Registry { return s.metrics.registry }

// Descriptions of the metrics read at scrape time.
var (
	hostTypeLabel = []string{"host_type"}

	descAuthSucceeded = prometheus.NewDesc("c2s_auth_success_count", "Successful SASL authentications.", hostTypeLabel, nil)
	descAuthFailed    = prometheus.NewDesc("c2s_auth_failed_count", "Failed SASL authentication attempts.", hostTypeLabel, nil)
	descElementsIn    = prometheus.NewDesc("c2s_element_in_stanza_count", "Stanzas received from bound clients.", hostTypeLabel, nil)
	descElementsOut   = prometheus.NewDesc("c2s_element_out_stanza_count", "Stanzas sent to bound clients.", hostTypeLabel, nil)
	descConnsAccepted = prometheus.NewDesc("c2s_tcp_connections_accepted_count", "Client TCP connections accepted.", nil, nil)
	descConnsOpen     = prometheus.NewDesc("c2s_tcp_connections_open", "Client TCP connections open.", nil, nil)
	descNodeSessions  = prometheus.NewDesc("sm_node_sessions_count", "Sessions bound on this node.", nil, nil)
	descSessions      = prometheus.NewDesc("sm_session_count", "Sessions bound on this node, by host type.", hostTypeLabel, nil)
	descDropped       = prometheus.NewDesc("router_stanza_dropped_count", "Stanzas mod_domain_isolation dropped, by the recipient's host type.", hostTypeLabel, nil)
	descNoRoute       = prometheus.NewDesc("router_no_route_found_count", "Stanzas for a domain this service does not serve, by the sender's host type.", hostTypeLabel, nil)
	descMAMPMLookup   = prometheus.NewDesc("mod_mam_pm_lookup_count", "One-to-one archive queries.", hostTypeLabel, nil)
	descMAMMUCLookup  = prometheus.NewDesc("mod_mam_muc_lookup_count", "Room archive queries.", hostTypeLabel, nil)
	descMAMPMArchive  = prometheus.NewDesc("mod_mam_pm_archive_message_count", "Messages written to one-to-one archives (one per archive: sender's and recipient's).", hostTypeLabel, nil)
	descMAMMUCArchive = prometheus.NewDesc("mod_mam_muc_archive_message_count", "Messages written to room archives.", hostTypeLabel, nil)
	descOffline       = prometheus.NewDesc("mod_offline_stored_count", "Messages stored for offline users.", hostTypeLabel, nil)
	descDomains       = prometheus.NewDesc("dynamic_domains", "Dynamic domains in the directory.", []string{"host_type", "status"}, nil)
	descLeader        = prometheus.NewDesc("raft_leader", "1 when this node is the raft leader.", nil, nil)
	descApplied       = prometheus.NewDesc("raft_applied_index", "Last raft index applied to the store.", nil, nil)
	descCommit        = prometheus.NewDesc("raft_commit_index", "Last raft index known committed.", nil, nil)
	descLastLog       = prometheus.NewDesc("raft_last_log_index", "Last index in this node's raft log.", nil, nil)
	descFSMPending    = prometheus.NewDesc("raft_fsm_pending", "Committed raft entries waiting for the store.", nil, nil)
	descLastContact   = prometheus.NewDesc("raft_last_contact_seconds", "Seconds since this follower last heard from the leader; 0 on the leader, -1 if never.", nil, nil)
	descMembers       = prometheus.NewDesc("cluster_members", "Servers in the raft configuration.", nil, nil)
	descMeshPeers     = prometheus.NewDesc("mesh_peers_connected", "Other nodes the session mesh is connected to.", nil, nil)
)

// collector reads the server's state when scraped.
type collector struct{ s *Server }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descAuthSucceeded, descAuthFailed, descElementsIn, descElementsOut, descConnsAccepted, descConnsOpen,
		descNodeSessions, descSessions, descDropped, descNoRoute, descMAMPMLookup, descMAMMUCLookup,
		descMAMPMArchive, descMAMMUCArchive, descOffline, descDomains, descLeader, descApplied, descCommit,
		descLastLog, descFSMPending, descLastContact, descMembers, descMeshPeers,
	} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s, m := c.s, c.s.metrics.set
	counters := func(d *prometheus.Desc, v *metrics.CounterVec) {
		v.Each(func(ht string, c *metrics.Counter) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(c.Value()), ht)
		})
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counters(descAuthSucceeded, &m.AuthSucceeded)
	counters(descAuthFailed, &m.AuthFailed)
	counters(descElementsIn, &m.ElementsIn)
	counters(descElementsOut, &m.ElementsOut)
	ch <- prometheus.MustNewConstMetric(descConnsAccepted, prometheus.CounterValue, float64(m.ConnsAccepted.Value()))
	gauge(descConnsOpen, float64(m.ConnsOpen.Value()))
	if s.Router != nil {
		gauge(descNodeSessions, float64(s.Router.Count()))
	}
	m.Sessions.Each(func(ht string, g *metrics.Gauge) {
		ch <- prometheus.MustNewConstMetric(descSessions, prometheus.GaugeValue, float64(g.Value()), ht)
	})
	counters(descDropped, &m.StanzaDropped)
	counters(descNoRoute, &m.NoRouteFound)
	counters(descMAMPMLookup, &m.MAMPMLookups)
	counters(descMAMMUCLookup, &m.MAMRoomLookups)
	counters(descMAMPMArchive, &m.MAMPMArchived)
	counters(descMAMMUCArchive, &m.MAMRoomArchived)
	counters(descOffline, &m.OfflineStored)

	// Every configured host type and status shows, at 0 when empty, so that a
	// domain leaving a status brings its series to 0 instead of removing it.
	domains := map[[2]string]int{}
	for _, ht := range s.cfg.General.HostTypes {
		for _, st := range []store.DomainStatus{store.StatusEnabled, store.StatusDisabled, store.StatusDeleting} {
			domains[[2]string{ht, st.String()}] = 0
		}
	}
	for _, dc := range s.Node.Directory().DomainCounts() {
		domains[[2]string{dc.HostType, dc.Status.String()}] += dc.N
	}
	for k, n := range domains {
		ch <- prometheus.MustNewConstMetric(descDomains, prometheus.GaugeValue, float64(n), k[0], k[1])
	}

	rs := s.Node.RaftStats()
	leader := 0.0
	if rs.Leader {
		leader = 1
	}
	gauge(descLeader, leader)
	gauge(descApplied, float64(rs.AppliedIndex))
	gauge(descCommit, float64(rs.CommitIndex))
	gauge(descLastLog, float64(rs.LastLogIndex))
	gauge(descFSMPending, float64(rs.FSMPending))
	lastContact := rs.LastContact.Seconds()
	if rs.LastContact < 0 {
		lastContact = -1
	}
	gauge(descLastContact, lastContact)
	gauge(descMembers, float64(rs.Members))
	if s.mesh != nil {
		gauge(descMeshPeers, float64(len(s.mesh.Peers())))
	}
}
