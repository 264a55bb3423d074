package adminapi_test

import (
	"net/http/httptest"
	"testing"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/node/adminapi"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/router/routertest"
)

type nodeAccounts struct{ n *node.Node }

func (a nodeAccounts) UserExists(domain, user string) bool {
	_, ok := a.n.UserCreds(domain, user)
	return ok
}

func TestSessionsAndStanzasREST(t *testing.T) {
	// A router over the real node's directory, with sessions that record what they get.
	_, n := startAPI(t, adminapi.Config{Path: "/api"})
	r, err := router.New(router.Config{Directory: n.Directory(), Accounts: nodeAccounts{n}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(adminapi.Handler(n, adminapi.Config{Path: "/api", Sessions: r, Accounts: nodeAccounts{n}}))
	defer ts.Close()
	run(t, ts, []call{
		{"domain", "PUT", "/api/domains/a.com", `{"host_type":"type1"}`, 204, ""},
		{"alice", "POST", "/api/users/a.com", `{"username":"alice","password":"pw"}`, 201, ""},
		{"bob", "POST", "/api/users/a.com", `{"username":"bob","password":"pw"}`, 201, ""},
	})
	alice1 := routertest.NewSession(t, "alice@a.com/phone", "type1")
	alice2 := routertest.NewSession(t, "alice@a.com/laptop", "type1")
	bob := routertest.NewSession(t, "bob@a.com/res", "type1")
	for _, s := range []*routertest.Session{alice1, alice2, bob} {
		if err := r.Bind(s); err != nil {
			t.Fatal(err)
		}
	}
	run(t, ts, []call{
		{"list domain", "GET", "/api/sessions/a.com", "", 200, `["alice@a.com/laptop","alice@a.com/phone","bob@a.com/res"]`},
		{"list user", "GET", "/api/sessions/a.com/alice", "", 200, `["alice@a.com/laptop","alice@a.com/phone"]`},
		{"list resource", "GET", "/api/sessions/a.com/alice/phone", "", 200, `["alice@a.com/phone"]`},
		{"list empty", "GET", "/api/sessions/b.com", "", 200, `[]`},
		{"send", "POST", "/api/stanzas", `{"stanza":"<message from='alice@a.com/phone' to='bob@a.com/res' type='chat'><body>hi</body></message>"}`, 204, ""},
		{"no stanza", "POST", "/api/stanzas", `{}`, 400, `"Missing stanza"`},
		{"malformed", "POST", "/api/stanzas", `{"stanza":"<message"}`, 400, `"Malformed stanza"`},
		{"no to", "POST", "/api/stanzas", `{"stanza":"<message from='alice@a.com'/>"}`, 400, `"Missing recipient JID"`},
		{"no from", "POST", "/api/stanzas", `{"stanza":"<message to='bob@a.com'/>"}`, 400, `"Missing sender JID"`},
		{"unknown domain", "POST", "/api/stanzas", `{"stanza":"<message from='x@nope.com' to='bob@a.com'/>"}`, 400, `"User's domain does not exist"`},
		{"unknown user", "POST", "/api/stanzas", `{"stanza":"<message from='zed@a.com' to='bob@a.com'/>"}`, 400, `"User does not exist"`},
		{"kick needs user", "DELETE", "/api/sessions/a.com", "", 400, `"Missing user name"`},
		{"kick one", "DELETE", "/api/sessions/a.com/alice/phone", "", 204, ""},
		{"kick none", "DELETE", "/api/sessions/a.com/carol/x", "", 404, `"No active session"`},
	})
	got := bob.One(t)
	if got.Child("jabber:client", "body").Text() != "hi" || got.Attr("id") == "" {
		t.Errorf("bob received %s", got)
	}
	if st := alice1.Stops(); len(st) != 1 || st[0].Cond != "conflict" {
		t.Errorf("kicked session stops: %+v", st)
	}
	if len(alice2.Stops()) != 0 {
		t.Error("kick of one resource stopped the other")
	}
}
