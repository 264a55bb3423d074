package config

import (
	"math"
	"time"
)

// Instrumentation is the [instrumentation] section. Of MongooseIM's handlers only
// prometheus is served; metrics are exposed by an HTTP listener's
// mongoose_prometheus_handler (docs/metrics.md).
type Instrumentation struct {
	// ProbeInterval is MongooseIM's sampling period of gauges (default 15 s).
	// Here every gauge is read when scraped, so it is accepted and unused.
	ProbeInterval time.Duration
	// Prometheus is true when [instrumentation.prometheus] is present.
	Prometheus bool
}

// PrometheusHandler is [[listen.http.handlers.mongoose_prometheus_handler]]: the
// metrics in the Prometheus text format, at Path (MongooseIM's default config
// serves "/metrics" on port 9091).
type PrometheusHandler struct {
	Host string // "_" = any Host header
	Path string
}

// DefaultProbeInterval is instrumentation.probe_interval's default.
const DefaultProbeInterval = 15 * time.Second

func (p *parser) instrumentation(root *tbl) Instrumentation {
	in := Instrumentation{ProbeInterval: DefaultProbeInterval}
	t := root.sub("instrumentation")
	if t == nil {
		return in
	}
	in.ProbeInterval = time.Duration(t.integer("probe_interval", 15, 1, math.MaxInt32)) * time.Second
	if s := t.sub("prometheus"); s != nil {
		in.Prometheus = true
		s.finish() // MongooseIM's prometheus handler has no options
	}
	for _, k := range []string{"exometer", "log"} {
		if _, ok := t.raw(k); ok {
			p.warnf(t.key(k), "instrumentation handler not implemented, ignored (prometheus is)")
		}
	}
	t.finish()
	return in
}

func (p *parser) prometheusHandler(t *tbl) *PrometheusHandler {
	h := &PrometheusHandler{}
	h.Host, h.Path = p.handlerHostPath(t)
	t.finish()
	return h
}
