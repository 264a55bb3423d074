package server_test

import (
	"strings"
	"testing"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/server"
)

// TestMaxUsersPerDomainPerHostType: auth.max_users_per_domain from a host type's
// [[host_config]] auth section limits each of that host type's domains on the admin
// API, and only those (issue 7).
func TestMaxUsersPerDomainPerHostType(t *testing.T) {
	t.Parallel()
	cfg := server.TestConfig(t.TempDir())
	cfg.General.HostTypes = append(cfg.General.HostTypes, "small")
	auth := cfg.Auth
	auth.MaxUsersPerDomain = 2
	cfg.HostConfigs = append(cfg.HostConfigs, config.HostConfig{HostType: "small", Auth: &auth})
	_, api := serve(t, cfg)
	for d, ht := range map[string]string{"s1.example": "small", "s2.example": "small", "big.example": "basic"} {
		if code := rest(t, "PUT", api+"/domains/"+d, `{"host_type":"`+ht+`"}`); code != 204 {
			t.Fatalf("add %s: %d", d, code)
		}
	}
	add := func(domain, user string) (int, string) {
		return restBody(t, "POST", api+"/users/"+domain, `{"username":"`+user+`","password":"pw"}`)
	}
	for _, d := range []string{"s1.example", "s2.example", "big.example"} {
		for _, u := range []string{"u1", "u2"} {
			if code, body := add(d, u); code != 201 {
				t.Fatalf("%s@%s: %d %s", u, d, code, body)
			}
		}
	}
	code, body := add("s1.example", "u3")
	if code != 403 || !strings.HasPrefix(body, `"Can't register user u3@s1.example at node `) ||
		!strings.HasSuffix(body, `: too many users in the domain"`) {
		t.Errorf("third user of a small domain: %d %s", code, body)
	}
	if code, body := add("big.example", "u3"); code != 201 {
		t.Errorf("third user of a basic domain: %d %s", code, body)
	}
	// Removing an account frees its place.
	if code := rest(t, "DELETE", api+"/users/s1.example/u1", ""); code != 204 {
		t.Fatalf("remove u1: %d", code)
	}
	if code, body := add("s1.example", "u3"); code != 201 {
		t.Errorf("after a removal: %d %s", code, body)
	}
}
