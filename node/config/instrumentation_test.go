package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const metricsListener = `
[[listen.http]]
  ip_address = "127.0.0.1"
  port = 9091
  [[listen.http.handlers.mongoose_prometheus_handler]]
    host = "_"
    path = "/metrics"
`

func TestInstrumentationPrometheus(t *testing.T) {
	c, probs := mustParse(t, minimal+metricsListener+"[instrumentation]\n  probe_interval = 60\n[instrumentation.prometheus]\n")
	if len(probs) != 0 {
		t.Errorf("problems:\n%s", probs)
	}
	if in := c.Instrumentation; !in.Prometheus || in.ProbeInterval != time.Minute {
		t.Errorf("instrumentation %+v", in)
	}
	l := c.Listen.HTTP[0]
	if l.AdminAPI != nil || l.Prometheus == nil || *l.Prometheus != (PrometheusHandler{Host: "_", Path: "/metrics"}) {
		t.Errorf("listener %+v", l)
	}
}

func TestInstrumentationDefaults(t *testing.T) {
	c, _ := mustParse(t, minimal)
	if in := c.Instrumentation; in.Prometheus || in.ProbeInterval != DefaultProbeInterval {
		t.Errorf("no [instrumentation]: %+v", in)
	}
	c, _ = mustParse(t, minimal+"[instrumentation]\n")
	if in := c.Instrumentation; in.Prometheus || in.ProbeInterval != 15*time.Second {
		t.Errorf("empty [instrumentation]: %+v", in)
	}
}

// A handler without [instrumentation.prometheus] is served anyway (the reference
// does not say what MongooseIM does), with a warning naming the handler.
func TestPrometheusHandlerWithoutInstrumentationWarns(t *testing.T) {
	c, probs := mustParse(t, minimal+metricsListener)
	p, ok := probs.Find("listen.http[0].handlers.mongoose_prometheus_handler")
	if !ok || p.Severity != Warning || !strings.Contains(p.Msg, "[instrumentation.prometheus]") {
		t.Errorf("want a warning on the handler, got:\n%s", probs)
	}
	if c.Listen.HTTP[0].Prometheus == nil {
		t.Error("handler dropped")
	}
}

func TestInstrumentationUnimplementedHandlersWarn(t *testing.T) {
	_, probs := mustParse(t, minimal+"[instrumentation.log]\n  level = \"info\"\n[instrumentation.exometer]\n")
	for _, k := range []string{"instrumentation.log", "instrumentation.exometer"} {
		if p, ok := probs.Find(k); !ok || p.Severity != Warning || !strings.Contains(p.Msg, "not implemented") {
			t.Errorf("%s: want a not-implemented warning, got:\n%s", k, probs)
		}
	}
}

func TestInstrumentationErrors(t *testing.T) {
	handler := func(body string) string {
		return minimal + "[instrumentation.prometheus]\n[[listen.http]]\n  port = 9091\n" +
			"  [[listen.http.handlers.mongoose_prometheus_handler]]\n" + body
	}
	cases := []struct {
		name, src, key, msg string
	}{
		{"handler without path", handler("    host = \"_\"\n"),
			"listen.http[0].handlers.mongoose_prometheus_handler[0].path", "required"},
		{"handler without host", handler("    path = \"/metrics\"\n"),
			"listen.http[0].handlers.mongoose_prometheus_handler[0].host", "required"},
		{"relative path", handler("    host = \"_\"\n    path = \"metrics\"\n"),
			"listen.http[0].handlers.mongoose_prometheus_handler[0].path", "must start with"},
		{"unknown handler option", handler("    host = \"_\"\n    path = \"/metrics\"\n    username = \"x\"\n"),
			"listen.http[0].handlers.mongoose_prometheus_handler[0].username", "unknown key"},
		{"two handlers", handler("    host = \"_\"\n    path = \"/metrics\"\n" +
			"  [[listen.http.handlers.mongoose_prometheus_handler]]\n    host = \"_\"\n    path = \"/m2\"\n"),
			"listen.http[0].handlers.mongoose_prometheus_handler[1]", "only one"},
		{"probe_interval zero", minimal + "[instrumentation]\n  probe_interval = 0\n",
			"instrumentation.probe_interval", "must be"},
		{"probe_interval string", minimal + "[instrumentation]\n  probe_interval = \"15s\"\n",
			"instrumentation.probe_interval", "must be"},
		{"prometheus option", minimal + "[instrumentation.prometheus]\n  port = 9091\n",
			"instrumentation.prometheus.port", "unknown key"},
		{"unknown instrumentation key", minimal + "[instrumentation]\n  interval = 5\n",
			"instrumentation.interval", "unknown key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, probs, err := Parse([]byte(c.src))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			p, ok := probs.Find(c.key)
			if !ok || p.Severity != Error || !strings.Contains(p.Msg, c.msg) {
				t.Errorf("want error %q at %s, got:\n%s", c.msg, c.key, probs)
			}
		})
	}
}
