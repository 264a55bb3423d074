package server_test

import (
	"testing"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/xmpp/mam"
)

// TestMAMShapersFromConfig: the per-user query shaper is the one the access rule
// mam_lookup_messages_shaper names for the user, with that [shaper]'s max_rate. Here
// the host type's rule lets the "vips" ACL query unshaped while everyone else keeps
// the default mam_shaper (1 per second after a burst).
func TestMAMShapersFromConfig(t *testing.T) {
	cfg := mamConfig(t.TempDir())
	for i := range cfg.HostConfigs {
		if cfg.HostConfigs[i].HostType != "advanced" {
			continue
		}
		cfg.HostConfigs[i].ACL = map[string][]config.ACLPattern{"vips": {{User: "vip"}}}
		cfg.HostConfigs[i].Access = map[string][]config.AccessClause{
			"mam_lookup_messages_shaper": {{ACL: "vips", Value: "none"}},
		}
	}
	s, api := serve(t, cfg)
	provisionHT(t, api, "advanced", "shape.example", "vip", "dave")
	addr := s.C2SAddrs()[0]

	vip := rawLogin(t, addr, "vip", "shape.example")
	for i := range mam.UserQueryBurst + 10 {
		if _, refused := mamQuery(t, vip, nil, ""); refused != "" {
			t.Fatalf("vip's query %d refused: %s", i, refused)
		}
	}
	wantFloodShaped(t, rawLogin(t, addr, "dave", "shape.example"))
}

// wantFloodShaped queries c's archive past the per-user burst and wants MongooseIM's
// flood refusal before the end.
func wantFloodShaped(t *testing.T, c *meshtest.Client) {
	t.Helper()
	refused := ""
	for range mam.UserQueryBurst + 5 {
		if _, got := mamQuery(t, c, nil, ""); got != "" {
			refused = got
			break
		}
	}
	if refused != "resource-constraint:The action is cancelled because of flooding." {
		t.Fatalf("%s's flood: %q", c.JID, refused)
	}
}
