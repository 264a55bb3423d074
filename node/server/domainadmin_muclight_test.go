package server_test

import (
	"strings"
	"testing"
)

// A domain admin manages the MUC Light rooms of its own domain's service and no other.
func TestDomainAdminMUCLight(t *testing.T) {
	t.Parallel()
	_, api := mucLightServer(t)
	if code, body := restBody(t, "PUT", api+"/domains/b.example/password", `{"password":"bpw"}`); code != 204 {
		t.Fatalf("set password: %d %s", code, body)
	}
	adminB := adminCreds{"admin@b.example", "bpw"}
	code, body, _ := adminB.call(t, "POST", api+"/muc-lights/muclight.b.example", `{"owner":"alice@b.example","name":"Ops","subject":"x"}`)
	if code != 201 || !strings.HasSuffix(body, "@muclight.b.example") {
		t.Fatalf("own service: %d %s", code, body)
	}
	code, body, _ = adminB.call(t, "POST", api+"/muc-lights/muclight.a.example", `{"owner":"alice@a.example","name":"Ops","subject":"x"}`)
	if code != 403 || body != otherDomain {
		t.Errorf("another domain's service: %d %s", code, body)
	}
}
