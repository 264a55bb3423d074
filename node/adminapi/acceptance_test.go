package adminapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/adminapi"
	"github.com/mongoose-go/mongoose-go/store"
)

// The acceptance behaviours of reference section 10.2 that TestDomainsREST does not
// already pin down, on MongooseIM 6.5.0's REST API (docs/acceptance.md maps each
// behaviour to its test).

// TestAcceptanceStaticAndUnknownDomains: behaviour 4 (every write on a static host is
// "Domain is static", enabling included), 6 (enable, disable and details of an
// unknown domain are not found) and 8 (an empty name has no route; the longest
// accepted name is 1023 bytes, MongooseIM's jid:nameprep limit).
func TestAcceptanceStaticAndUnknownDomains(t *testing.T) {
	t.Parallel()
	ts, _ := startAPI(t, adminapi.Config{Path: "/api"})
	run(t, ts, []call{
		{"add static", "PUT", "/api/domains/localhost", `{"host_type":"type1"}`, 403, `"Domain is static"`},
		{"remove static", "DELETE", "/api/domains/localhost", `{"host_type":"type1"}`, 403, `"Domain is static"`},
		{"enable static", "PATCH", "/api/domains/localhost", `{"enabled":true}`, 403, `"Domain is static"`},
		{"disable static", "PATCH", "/api/domains/localhost", `{"enabled":false}`, 403, `"Domain is static"`},
		{"enable unknown", "PATCH", "/api/domains/nope.example", `{"enabled":true}`, 404, `"Given domain does not exist"`},
		{"disable unknown", "PATCH", "/api/domains/nope.example", `{"enabled":false}`, 404, `"Given domain does not exist"`},
		{"details unknown", "GET", "/api/domains/nope.example", "", 404, `"Given domain does not exist"`},
		{"empty name", "PUT", "/api/domains/", `{"host_type":"type1"}`, 404, ""},
	})
}

// TestAcceptanceWrongHostTypeKeepsDomain: behaviour 7: removal with the other host
// type is refused and the domain stays enabled and served.
func TestAcceptanceWrongHostTypeKeepsDomain(t *testing.T) {
	t.Parallel()
	ts, n := startAPI(t, adminapi.Config{Path: "/api"})
	run(t, ts, []call{
		{"add", "PUT", "/api/domains/example.com", `{"host_type":"type1"}`, 204, ""},
		{"remove as type2", "DELETE", "/api/domains/example.com", `{"host_type":"type2"}`, 403, `"Wrong host type was provided"`},
		{"still enabled", "GET", "/api/domains/example.com", "", 200, `{"host_type":"type1","status":"enabled"}`},
		{"async as type2", "DELETE", "/api/domains/example.com", `{"host_type":"type2","request":true}`, 403, `"Wrong host type was provided"`},
		{"still enabled after async", "GET", "/api/domains/example.com", "", 200, `{"host_type":"type1","status":"enabled"}`},
	})
	if ht, ok := n.Directory().HostTypeOf("example.com"); !ok || ht != "type1" {
		t.Errorf("served as %q %v after refused removals", ht, ok)
	}
}

// TestAcceptanceDisableEnable: behaviour 9 on one node: disabled shows in details and
// the list (also filtered by host type, where MongooseIM's domainsByHostType would
// omit it: ours lists it with its status), the domain is no longer served, and
// enabling restores all of it. Disabling twice is idempotent.
func TestAcceptanceDisableEnable(t *testing.T) {
	t.Parallel()
	ts, n := startAPI(t, adminapi.Config{Path: "/api"})
	run(t, ts, []call{
		{"add", "PUT", "/api/domains/example.com", `{"host_type":"type1"}`, 204, ""},
		{"disable", "PATCH", "/api/domains/example.com", `{"enabled":false}`, 204, ""},
		{"disable again", "PATCH", "/api/domains/example.com", `{"enabled":false}`, 204, ""},
		{"details", "GET", "/api/domains/example.com", "", 200, `{"host_type":"type1","status":"disabled"}`},
		{"list", "GET", "/api/domains", "", 200,
			`[{"domain":"example.com","host_type":"type1","status":"disabled","type":"dynamic"},{"domain":"localhost","host_type":"localhost","status":"enabled","type":"static"}]`},
		{"by host type", "GET", "/api/domains?host_type=type1", "", 200,
			`[{"domain":"example.com","host_type":"type1","status":"disabled","type":"dynamic"}]`},
		{"no users on it", "POST", "/api/users/example.com", `{"username":"u","password":"pw"}`, 403, ""},
	})
	if _, ok := n.Directory().HostTypeOf("example.com"); ok {
		t.Error("a disabled domain is still served")
	}
	run(t, ts, []call{
		{"enable", "PATCH", "/api/domains/example.com", `{"enabled":true}`, 204, ""},
		{"details", "GET", "/api/domains/example.com", "", 200, `{"host_type":"type1","status":"enabled"}`},
		{"by host type", "GET", "/api/domains?host_type=type1", "", 200,
			`[{"domain":"example.com","host_type":"type1","status":"enabled","type":"dynamic"}]`},
		{"users again", "POST", "/api/users/example.com", `{"username":"u","password":"pw"}`, 201, ""},
	})
	if ht, ok := n.Directory().HostTypeOf("example.com"); !ok || ht != "type1" {
		t.Errorf("re-enabled domain served as %q %v", ht, ok)
	}
}

// TestAcceptanceRemoveTwice: behaviour 11: a synchronous removal (204) leaves
// nothing; a second one is not found.
func TestAcceptanceRemoveTwice(t *testing.T) {
	t.Parallel()
	ts, _ := startAPI(t, adminapi.Config{Path: "/api"})
	run(t, ts, []call{
		{"add", "PUT", "/api/domains/example.com", `{"host_type":"type1"}`, 204, ""},
		{"user", "POST", "/api/users/example.com", `{"username":"u","password":"pw"}`, 201, ""},
		{"remove", "DELETE", "/api/domains/example.com", `{"host_type":"type1"}`, 204, ""},
		{"gone", "GET", "/api/domains/example.com", "", 404, `"Given domain does not exist"`},
		{"remove again", "DELETE", "/api/domains/example.com", `{"host_type":"type1"}`, 404, `"Given domain does not exist"`},
		{"users gone", "GET", "/api/users/example.com", "", 200, `[]`},
	})
}

// TestAcceptanceRequestRemove: behaviour 12: an asynchronous removal answers 202,
// the domain then disappears (details not found), and a further request is not
// found.
func TestAcceptanceRequestRemove(t *testing.T) {
	t.Parallel()
	ts, _ := startAPI(t, adminapi.Config{Path: "/api"})
	run(t, ts, []call{
		{"add", "PUT", "/api/domains/example.com", `{"host_type":"type1"}`, 204, ""},
		{"user", "POST", "/api/users/example.com", `{"username":"u","password":"pw"}`, 201, ""},
		{"request remove", "DELETE", "/api/domains/example.com", `{"host_type":"type1","request":true}`, 202, ""},
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body, _ := do(t, ts, call{method: "GET", path: "/api/domains/example.com"}, nil)
		if code == 404 && body == `"Given domain does not exist"` {
			break
		}
		// Until then it is deleting, never enabled again.
		if code != 200 || body != `{"host_type":"type1","status":"deleting"}` {
			t.Fatalf("during the removal: %d %s", code, body)
		}
		if time.Now().After(deadline) {
			t.Fatal("the domain did not disappear")
		}
		time.Sleep(10 * time.Millisecond) // the removal runs in the background; poll its effect
	}
	run(t, ts, []call{
		{"request again", "DELETE", "/api/domains/example.com", `{"host_type":"type1","request":true}`, 404, `"Given domain does not exist"`},
	})
}

// TestAcceptanceDeletingDomain: behaviour 13: while a domain is deleting (here a
// removal interrupted right after it was marked, as by a crash), enabling and
// disabling it are "Domain has been deleted", it cannot be added again, its details
// say deleting, and a new DELETE resumes and finishes the removal.
func TestAcceptanceDeletingDomain(t *testing.T) {
	t.Parallel()
	ts, n := startAPI(t, adminapi.Config{Path: "/api"})
	run(t, ts, []call{
		{"add", "PUT", "/api/domains/example.com", `{"host_type":"type1"}`, 204, ""},
		{"user", "POST", "/api/users/example.com", `{"username":"u","password":"pw"}`, 201, ""},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n.Apply(ctx, &store.MarkDomainDeleting{Name: "example.com", HostType: "type1"}); err != nil {
		t.Fatal(err)
	}
	run(t, ts, []call{
		{"details", "GET", "/api/domains/example.com", "", 200, `{"host_type":"type1","status":"deleting"}`},
		{"enable", "PATCH", "/api/domains/example.com", `{"enabled":true}`, 403, `"Domain has been deleted"`},
		{"disable", "PATCH", "/api/domains/example.com", `{"enabled":false}`, 403, `"Domain has been deleted"`},
		{"add again", "PUT", "/api/domains/example.com", `{"host_type":"type1"}`, 409, `"Domain already exists"`},
		{"still deleting", "GET", "/api/domains/example.com", "", 200, `{"host_type":"type1","status":"deleting"}`},
		{"resume", "DELETE", "/api/domains/example.com", `{"host_type":"type1"}`, 204, ""},
		{"gone", "GET", "/api/domains/example.com", "", 404, `"Given domain does not exist"`},
		{"users gone", "GET", "/api/users/example.com", "", 200, `[]`},
	})
}

// TestAcceptanceDomainPasswordOnDisabled: behaviour 14's "does not exist or is
// disabled": only a domain in service gets an admin password.
func TestAcceptanceDomainPasswordOnDisabled(t *testing.T) {
	t.Parallel()
	ts, _ := startAPI(t, adminapi.Config{Path: "/api"})
	run(t, ts, []call{
		{"add", "PUT", "/api/domains/example.com", `{"host_type":"type1"}`, 204, ""},
		{"set", "PUT", "/api/domains/example.com/password", `{"password":"pw"}`, 204, ""},
		{"disable", "PATCH", "/api/domains/example.com", `{"enabled":false}`, 204, ""},
		{"set on disabled", "PUT", "/api/domains/example.com/password", `{"password":"pw2"}`, 404, `"Given domain does not exist or is disabled"`},
		{"set on unknown", "PUT", "/api/domains/nope.example/password", `{"password":"pw"}`, 404, `"Given domain does not exist or is disabled"`},
		{"set on static", "PUT", "/api/domains/localhost/password", `{"password":"pw"}`, 204, ""},
		{"delete", "DELETE", "/api/domains/example.com/password", "", 204, ""},
		{"delete again", "DELETE", "/api/domains/example.com/password", "", 404, `"Domain password does not exist"`},
	})
}
