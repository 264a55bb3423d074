package server_test

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/isolation"
	"github.com/mongoose-go/mongoose-go/xmpp/mam"
	"github.com/mongoose-go/mongoose-go/xmpp/muclight"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// mucLightServer serves host type "muc" (default modules + mod_muc_light +
// mod_domain_isolation) with domains a.example and b.example, five users on a.example
// and alice on b.example.
func mucLightServer(t testing.TB) (*server.Server, string) {
	t.Helper()
	return mucLightServerWith(t, nil, nil)
}

// mucLightServerWith is mucLightServer with extra mod_muc_light options and extra
// modules for host type "muc".
func mucLightServerWith(t testing.TB, extra map[string]any, more map[string]config.Module) (*server.Server, string) {
	t.Helper()
	cfg := server.TestConfig(t.TempDir())
	cfg.General.HostTypes = append(cfg.General.HostTypes, "muc")
	mods := maps.Clone(cfg.Modules)
	// config_schema as the TOML loader decodes it: MongooseIM's defaults plus a typed field.
	opts := map[string]any{"config_schema": []any{
		map[string]any{"field": "roomname", "string_value": "Untitled"},
		map[string]any{"field": "subject", "string_value": ""},
		map[string]any{"field": "priority", "integer_value": int64(1)},
	}}
	maps.Copy(opts, extra)
	mods[muclight.Name] = config.Module{Name: muclight.Name, Opts: opts}
	mods[isolation.Name] = config.Module{Name: isolation.Name}
	maps.Copy(mods, more)
	cfg.HostConfigs = append(cfg.HostConfigs, config.HostConfig{HostType: "muc", Modules: mods})
	s, api := serve(t, cfg)
	users := map[string][]string{"a.example": mucUsers, "b.example": {"alice"}}
	for _, domain := range []string{"a.example", "b.example"} {
		if code := restTB(t, "PUT", api+"/domains/"+domain, `{"host_type":"muc"}`); code != 204 {
			t.Fatalf("add %s: %d", domain, code)
		}
		for _, u := range users[domain] {
			if code := restTB(t, "POST", api+"/users/"+domain, `{"username":"`+u+`","password":"pw"}`); code != 201 {
				t.Fatalf("add %s@%s: %d", u, domain, code)
			}
		}
	}
	return s, api
}

var mucUsers = []string{"alice", "bob", "carol", "dave", "eve"}

func restTB(t testing.TB, method, url, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

const room = "team@muclight.a.example"

// mc is a test client that keeps the stanzas an expectation skipped, so that the
// order in which a reply and notifications arrive does not matter.
type mc struct {
	*meshtest.Client
	kept []*xmlstream.Element
}

func (c *mc) expect(t *testing.T, match func(*xmlstream.Element) bool) *xmlstream.Element {
	t.Helper()
	for i, el := range c.kept {
		if match(el) {
			c.kept = append(c.kept[:i], c.kept[i+1:]...)
			return el
		}
	}
	timer := time.NewTimer(meshtest.Timeout)
	defer timer.Stop()
	for {
		select {
		case el, ok := <-c.In:
			if !ok {
				t.Fatalf("%s: stream ended", c.JID)
			}
			if match(el) {
				return el
			}
			c.kept = append(c.kept, el)
		case <-timer.C:
			t.Fatalf("%s: nothing matching within %v", c.JID, meshtest.Timeout)
		}
	}
}

func mucLogin(t *testing.T, addr, user, domain string) *mc {
	return &mc{Client: rawLogin(t, addr, user, domain)}
}

// muciq sends an IQ and returns the reply with its id.
func muciq(t *testing.T, c *mc, id, raw string) *xmlstream.Element {
	t.Helper()
	isoSend(t, c.Client, raw)
	return c.expect(t, meshtest.IQ(id))
}

func wantIQResult(t *testing.T, el *xmlstream.Element) {
	t.Helper()
	if el.Attr("type") != "result" {
		t.Fatalf("want result, got %s", el.AppendXML(nil, ""))
	}
}

func wantIQError(t *testing.T, el *xmlstream.Element, cond string) {
	t.Helper()
	if el.Attr("type") != "error" || !strings.Contains(string(el.AppendXML(nil, "")), "<"+cond+" ") {
		t.Fatalf("want %s, got %s", cond, el.AppendXML(nil, ""))
	}
}

// xIn matches a message from 'from' carrying <x xmlns=ns>.
func xIn(from, ns string) func(*xmlstream.Element) bool {
	return func(el *xmlstream.Element) bool {
		return el.Local == "message" && el.Attr("from") == from && el.Child(ns, "x") != nil
	}
}

func expectEl(t *testing.T, c *mc, match func(*xmlstream.Element) bool) *xmlstream.Element {
	t.Helper()
	return c.expect(t, match)
}

// affsOf returns "user=aff" pairs and the versions of an <x #affiliations>.
func affsOf(el *xmlstream.Element) (users []string, prev, ver string) {
	x := el.Child(muclight.NSAffs, "x")
	for _, u := range x.ChildrenNamed(muclight.NSAffs, "user") {
		users = append(users, u.Text()+"="+u.Attr("affiliation"))
	}
	if p := x.Child(muclight.NSAffs, "prev-version"); p != nil {
		prev = p.Text()
	}
	if v := x.Child(muclight.NSAffs, "version"); v != nil {
		ver = v.Text()
	}
	return users, prev, ver
}

// TestMUCLightRoomLifecycle takes a five-member room through create, chat,
// affiliation change, configuration, leave with owner promotion, and destroy, with the
// error cases of non-occupants and members, over real sockets.
func TestMUCLightRoomLifecycle(t *testing.T) {
	t.Parallel()
	s, _ := mucLightServer(t)
	addr := s.C2SAddrs()[0]
	c := map[string]*mc{}
	for _, u := range mucUsers {
		c[u] = mucLogin(t, addr, u, "a.example")
	}

	// Create with four occupants; the creator becomes owner.
	res := muciq(t, c["alice"], "c1", `<iq type="set" id="c1" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#create">`+
		`<configuration><roomname>Team</roomname></configuration><occupants>`+
		`<user affiliation="member">bob@a.example</user><user affiliation="member">carol@a.example</user>`+
		`<user affiliation="member">dave@a.example</user><user affiliation="member">eve@a.example</user>`+
		`</occupants></query></iq>`)
	wantIQResult(t, res)
	var ver string
	for _, u := range mucUsers {
		el := expectEl(t, c[u], xIn(room, muclight.NSAffs))
		users, _, v := affsOf(el)
		want := u + "@a.example=member"
		if u == "alice" {
			want = "alice@a.example=owner"
		}
		if len(users) != 1 || users[0] != want || v == "" {
			t.Fatalf("%s: creation notification %v %q, want only %s", u, users, v, want)
		}
		ver = v
	}
	// The same name again: conflict.
	wantIQError(t, muciq(t, c["bob"], "c2", `<iq type="set" id="c2" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#create"/></iq>`), "conflict")

	// A groupchat message reaches all five, from room/sender, with its id.
	isoSend(t, c["bob"].Client, `<message type="groupchat" id="g1" to="`+room+`"><body>hello</body></message>`)
	for _, u := range mucUsers {
		el := expectEl(t, c[u], meshtest.Body("hello"))
		if el.Attr("from") != room+"/bob@a.example" || el.Attr("id") != "g1" || el.Attr("type") != "groupchat" {
			t.Fatalf("%s got %s", u, el.AppendXML(nil, ""))
		}
	}

	// A member may not configure, but may set the subject.
	wantIQError(t, muciq(t, c["bob"], "cf1", `<iq type="set" id="cf1" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#configuration"><roomname>Mine</roomname></query></iq>`), "not-allowed")
	var newVer string
	wantIQResult(t, muciq(t, c["bob"], "cf2", `<iq type="set" id="cf2" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#configuration"><subject>news</subject></query></iq>`))
	for _, u := range mucUsers {
		el := expectEl(t, c[u], xIn(room, muclight.NSConfig))
		if x := el.Child(muclight.NSConfig, "x"); x.Child(muclight.NSConfig, "subject").Text() != "news" ||
			x.Child(muclight.NSConfig, "prev-version").Text() != ver {
			t.Fatalf("%s: config notification %s", u, el.AppendXML(nil, ""))
		}
		newVer = el.Child(muclight.NSConfig, "x").Child(muclight.NSConfig, "version").Text()
	}
	ver = newVer
	cfg := muciq(t, c["carol"], "cf3", `<iq type="get" id="cf3" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#configuration"/></iq>`)
	if q := cfg.Child(muclight.NSConfig, "query"); q == nil || q.Child(muclight.NSConfig, "roomname").Text() != "Team" ||
		q.Child(muclight.NSConfig, "version").Text() != ver {
		t.Fatalf("config get: %s", cfg.AppendXML(nil, ""))
	}

	// A member may not change affiliations; the owner removes eve.
	wantIQError(t, muciq(t, c["bob"], "a0", `<iq type="set" id="a0" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#affiliations"><user affiliation="none">carol@a.example</user></query></iq>`), "not-allowed")
	wantIQResult(t, muciq(t, c["alice"], "a1", `<iq type="set" id="a1" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#affiliations"><user affiliation="none">eve@a.example</user></query></iq>`))
	el := expectEl(t, c["eve"], xIn(room, muclight.NSAffs))
	if users, _, _ := affsOf(el); fmt.Sprint(users) != "[eve@a.example=none]" {
		t.Fatalf("eve's removal notification: %v", users)
	}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		users, prev, v := affsOf(expectEl(t, c[u], xIn(room, muclight.NSAffs)))
		if fmt.Sprint(users) != "[eve@a.example=none]" || prev != ver || v == "" || v == ver {
			t.Fatalf("%s: %v prev %q version %q (was %q)", u, users, prev, v, ver)
		}
	}

	// eve is no occupant any more: item-not-found for requests and messages.
	wantIQError(t, muciq(t, c["eve"], "e1", `<iq type="get" id="e1" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#configuration"/></iq>`), "item-not-found")
	isoSend(t, c["eve"].Client, `<message type="groupchat" id="e2" to="`+room+`"><body>let me in</body></message>`)
	if el := expectEl(t, c["eve"], func(el *xmlstream.Element) bool { return el.Attr("id") == "e2" }); el.Attr("type") != "error" ||
		el.Child("jabber:client", "error").Child("urn:ietf:params:xml:ns:xmpp-stanzas", "item-not-found") == nil {
		t.Fatalf("non-occupant message: %s", el.AppendXML(nil, ""))
	}
	noMessage(t, c["carol"].Client)

	// The owner leaves: bob (the first remaining occupant) is promoted.
	wantIQResult(t, muciq(t, c["alice"], "l1", `<iq type="set" id="l1" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#affiliations"><user affiliation="none">alice@a.example</user></query></iq>`))
	users, _, _ := affsOf(expectEl(t, c["carol"], xIn(room, muclight.NSAffs)))
	if fmt.Sprint(users) != "[alice@a.example=none bob@a.example=owner]" {
		t.Fatalf("leave + promotion notification: %v", users)
	}
	info := muciq(t, c["dave"], "i1", `<iq type="get" id="i1" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#info"/></iq>`)
	if s := string(info.AppendXML(nil, "")); !strings.Contains(s, `affiliation="owner">bob@a.example<`) || strings.Contains(s, "alice@") {
		t.Fatalf("info after leave: %s", s)
	}

	// disco#items lists carol's rooms with RSM.
	items := muciq(t, c["carol"], "d1", `<iq type="get" id="d1" to="muclight.a.example"><query xmlns="http://jabber.org/protocol/disco#items"/></iq>`)
	if s := string(items.AppendXML(nil, "")); !strings.Contains(s, `jid="`+room+`"`) || !strings.Contains(s, `name="Team"`) || !strings.Contains(s, "<count>1</count>") {
		t.Fatalf("disco#items: %s", s)
	}

	// Only an owner destroys; everyone is told.
	wantIQError(t, muciq(t, c["carol"], "x1", `<iq type="set" id="x1" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#destroy"/></iq>`), "not-allowed")
	wantIQResult(t, muciq(t, c["bob"], "x2", `<iq type="set" id="x2" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#destroy"/></iq>`))
	for _, u := range []string{"bob", "carol", "dave"} {
		el := expectEl(t, c[u], xIn(room, muclight.NSDestroy))
		if users, _, _ := affsOf(el); fmt.Sprint(users) != "["+u+"@a.example=none]" {
			t.Fatalf("%s destroy notification: %v", u, users)
		}
	}
	wantIQError(t, muciq(t, c["bob"], "x3", `<iq type="get" id="x3" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#info"/></iq>`), "item-not-found")
}

// TestMUCLightBlockingAndGeneratedNames: a user who blocked the creator is left out of
// a new room; a create sent to the service gets a unique generated name.
func TestMUCLightBlockingAndGeneratedNames(t *testing.T) {
	t.Parallel()
	s, _ := mucLightServer(t)
	addr := s.C2SAddrs()[0]
	alice := mucLogin(t, addr, "alice", "a.example")
	bob := mucLogin(t, addr, "bob", "a.example")
	carol := mucLogin(t, addr, "carol", "a.example")

	wantIQResult(t, muciq(t, bob, "b1", `<iq type="set" id="b1" to="muclight.a.example"><query xmlns="urn:xmpp:muclight:0#blocking"><user action="deny">alice@a.example</user></query></iq>`))
	list := muciq(t, bob, "b2", `<iq type="get" id="b2" to="muclight.a.example"><query xmlns="urn:xmpp:muclight:0#blocking"/></iq>`)
	if s := string(list.AppendXML(nil, "")); !strings.Contains(s, `<user action="deny">alice@a.example</user>`) {
		t.Fatalf("block list: %s", s)
	}
	res := muciq(t, alice, "c1", `<iq type="set" id="c1" to="muclight.a.example"><query xmlns="urn:xmpp:muclight:0#create"><occupants>`+
		`<user affiliation="member">bob@a.example</user><user affiliation="member">carol@a.example</user></occupants></query></iq>`)
	wantIQResult(t, res)
	generated := res.Attr("from")
	if !strings.HasSuffix(generated, "@muclight.a.example") || generated == "muclight.a.example" {
		t.Fatalf("generated room: %q", generated)
	}
	expectEl(t, carol, xIn(generated, muclight.NSAffs))
	info := muciq(t, carol, "i1", `<iq type="get" id="i1" to="`+generated+`"><query xmlns="urn:xmpp:muclight:0#info"/></iq>`)
	if s := string(info.AppendXML(nil, "")); strings.Contains(s, "bob@") || !strings.Contains(s, "carol@") {
		t.Fatalf("blocked bob was added: %s", s)
	}
	wantIQError(t, muciq(t, bob, "i2", `<iq type="get" id="i2" to="`+generated+`"><query xmlns="urn:xmpp:muclight:0#info"/></iq>`), "item-not-found")
	// Unblocking empties the list.
	wantIQResult(t, muciq(t, bob, "b3", `<iq type="set" id="b3" to="muclight.a.example"><query xmlns="urn:xmpp:muclight:0#blocking"><user action="allow">alice@a.example</user></query></iq>`))
	list = muciq(t, bob, "b4", `<iq type="get" id="b4" to="muclight.a.example"><query xmlns="urn:xmpp:muclight:0#blocking"/></iq>`)
	if s := string(list.AppendXML(nil, "")); strings.Contains(s, "alice") {
		t.Fatalf("block list after allow: %s", s)
	}
}

// TestMUCLightSubdomainIsolation is reference 10.2 behaviour 27: a stanza to your own
// domain's MUC Light service reaches it (bad-request "Resource expected to be empty"),
// one to a foreign domain's service is filtered by domain isolation. Presence to the
// service is ignored.
func TestMUCLightSubdomainIsolation(t *testing.T) {
	t.Parallel()
	s, _ := mucLightServer(t)
	alice := mucLogin(t, s.C2SAddrs()[0], "alice", "a.example")
	own := muciq(t, alice, "s1", `<iq type="get" id="s1" to="muclight.a.example/res"><query xmlns="urn:xmpp:muclight:0#info"/></iq>`)
	wantIQError(t, own, "bad-request")
	if !strings.Contains(string(own.AppendXML(nil, "")), "Resource expected to be empty") {
		t.Fatalf("own subdomain: %s", own.AppendXML(nil, ""))
	}
	foreign := muciq(t, alice, "s2", `<iq type="get" id="s2" to="muclight.b.example/res"><query xmlns="urn:xmpp:muclight:0#info"/></iq>`)
	wantIQError(t, foreign, "service-unavailable")
	if !strings.Contains(string(foreign.AppendXML(nil, "")), isolation.Text) {
		t.Fatalf("foreign subdomain: %s", foreign.AppendXML(nil, ""))
	}
	info := muciq(t, alice, "s3", `<iq type="get" id="s3" to="muclight.a.example"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	if s := string(info.AppendXML(nil, "")); !strings.Contains(s, `var="urn:xmpp:muclight:0"`) {
		t.Fatalf("disco#info: %s", s)
	}
	// The configured schema: defaults for a new room, typed values checked.
	wantIQResult(t, muciq(t, alice, "s5", `<iq type="set" id="s5" to="cfg@muclight.a.example"><query xmlns="urn:xmpp:muclight:0#create"/></iq>`))
	cfg := muciq(t, alice, "s6", `<iq type="get" id="s6" to="cfg@muclight.a.example"><query xmlns="urn:xmpp:muclight:0#configuration"/></iq>`)
	if s := string(cfg.AppendXML(nil, "")); !strings.Contains(s, "<roomname>Untitled</roomname>") || !strings.Contains(s, "<priority>1</priority>") {
		t.Fatalf("schema defaults: %s", s)
	}
	wantIQError(t, muciq(t, alice, "s7", `<iq type="set" id="s7" to="cfg@muclight.a.example"><query xmlns="urn:xmpp:muclight:0#configuration"><priority>high</priority></query></iq>`), "bad-request")
	isoSend(t, alice.Client, `<presence to="muclight.a.example"/>`)
	wantIQResult(t, muciq(t, alice, "s4", `<iq type="get" id="s4" to="muclight.a.example"><query xmlns="http://jabber.org/protocol/disco#items"/></iq>`))
}

// TestMUCLightAdminAPIAndDomainRemoval drives /muc-lights and checks that removing a
// domain purges its rooms.
func TestMUCLightAdminAPIAndDomainRemoval(t *testing.T) {
	t.Parallel()
	s, api := mucLightServer(t)
	addr := s.C2SAddrs()[0]
	alice := mucLogin(t, addr, "alice", "b.example")
	code, body := restBody(t, "POST", api+"/muc-lights/muclight.b.example", `{"owner":"alice@b.example","name":"Ops","subject":"x"}`)
	if code != 201 || !strings.HasSuffix(body, "@muclight.b.example") {
		t.Fatalf("create: %d %q", code, body)
	}
	id, _, _ := strings.Cut(body, "@")
	expectEl(t, alice, xIn(body, muclight.NSAffs))
	if code, _ := restBody(t, "PUT", api+"/muc-lights/muclight.b.example", `{"id":"`+id+`","owner":"alice@b.example","name":"Ops","subject":"x"}`); code != 403 {
		t.Fatalf("create existing: %d", code)
	}
	if code, _ := restBody(t, "POST", api+"/muc-lights/muclight.b.example/"+id+"/messages", `{"from":"alice@b.example","body":"via api"}`); code != 204 {
		t.Fatalf("send: %d", code)
	}
	if el := expectEl(t, alice, meshtest.Body("via api")); el.Attr("from") != body+"/alice@b.example" {
		t.Fatalf("api message: %s", el.AppendXML(nil, ""))
	}
	if code, _ := restBody(t, "POST", api+"/muc-lights/muclight.b.example/"+id+"/messages", `{"from":"bob@b.example","body":"x"}`); code != 404 {
		t.Fatalf("send by non-occupant: %d", code)
	}
	if code, _ := restBody(t, "GET", api+"/muc-lights/muclight.b.example/"+id+"/messages", ""); code != 404 {
		t.Fatalf("history without MAM: %d", code)
	}
	if code, _ := restBody(t, "POST", api+"/muc-lights/muclight.nowhere.example", `{"owner":"alice@b.example","name":"Ops","subject":"x"}`); code != 404 {
		t.Fatalf("create at unknown service: %d", code)
	}
	// A second room, then domain removal purges both the room and the user index.
	code, second := restBody(t, "POST", api+"/muc-lights/muclight.b.example", `{"owner":"alice@b.example","name":"Two","subject":""}`)
	if code != 201 {
		t.Fatalf("create second: %d", code)
	}
	if code, _ := restBody(t, "DELETE", api+"/muc-lights/muclight.b.example/"+id+"/management", ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	expectEl(t, alice, xIn(body, muclight.NSDestroy))
	if code, _ := restBody(t, "DELETE", api+"/muc-lights/muclight.b.example/"+id+"/management", ""); code != 404 {
		t.Fatalf("delete again: %d", code)
	}
	secondID, _, _ := strings.Cut(second, "@")
	if n := roomsOf(t, s, "b.example", "alice@b.example"); n != 1 {
		t.Fatalf("rooms before removal: %d", n)
	}
	if code := rest(t, "DELETE", api+"/domains/b.example", `{"host_type":"muc"}`); code != 204 {
		t.Fatalf("remove domain: %d", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for roomsOf(t, s, "b.example", "alice@b.example") != 0 || roomExists(t, s, "b.example", secondID) {
		if time.Now().After(deadline) {
			t.Fatal("rooms of a removed domain remain")
		}
		time.Sleep(20 * time.Millisecond) // purge is asynchronous; poll its effect
	}
}

func roomsOf(t *testing.T, s *server.Server, domain, user string) int {
	t.Helper()
	n := 0
	if err := s.Node.View(func(tx *bolt.Tx) error {
		_, n = store.MUCLightUserRooms(tx, domain, user, "", 0)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func roomExists(t *testing.T, s *server.Server, domain, id string) bool {
	t.Helper()
	var ok bool
	if err := s.Node.View(func(tx *bolt.Tx) (err error) {
		_, ok, err = store.GetMUCLightRoom(tx, domain, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return ok
}

// BenchmarkMUCLightDeliveries: 10 rooms of 5 members over real sockets, one sender per
// room with up to 10 of its messages in flight; every message goes to the 5 members
// (the sender included), so deliveries = 5 x b.N. Clients share the 2 cores with the
// server.
func BenchmarkMUCLightDeliveries(b *testing.B) {
	s, api := mucLightServer(b)
	benchMUCLightDeliveries(b, s, api)
}

// BenchmarkMUCLightDeliveriesArchived is BenchmarkMUCLightDeliveries with the room
// archive on (mod_mam muc): every room message is also one archive record, and its
// sender's stream waits for the record's raft commit before the fan-out.
func BenchmarkMUCLightDeliveriesArchived(b *testing.B) {
	s, api := mucLightServerWith(b, nil, map[string]config.Module{mam.Name: {Name: mam.Name, Opts: map[string]any{
		"pm":  map[string]any{},
		"muc": map[string]any{"host": "muclight.@HOST@"},
	}}})
	benchMUCLightDeliveries(b, s, api)
	// Every message was archived once, in its room's archive.
	archived := 0
	if err := s.Node.View(func(tx *bolt.Tx) error {
		for r := range 10 {
			archived += store.ArchiveCount(tx, "a.example", fmt.Sprintf("room%d@muclight.a.example", r), "")
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if archived != b.N {
		b.Fatalf("archived %d of %d room messages", archived, b.N)
	}
}

// benchMUCLightDeliveries: 10 rooms of 5 members at a.example, one sender per room
// with 10 messages in flight; every member (the sender included) counts deliveries.
func benchMUCLightDeliveries(b *testing.B, s *server.Server, api string) {
	const rooms, members, window = 10, 5, 10
	addr := s.C2SAddrs()[0]
	clients := make([][]*meshtest.Client, rooms)
	for r := range rooms {
		for m := range members {
			u := fmt.Sprintf("u%d-%d", r, m)
			if code := restTB(b, "POST", api+"/users/a.example", `{"username":"`+u+`","password":"pw"}`); code != 201 {
				b.Fatalf("add %s: %d", u, code)
			}
			c, err := meshtest.Login(addr, u, "a.example", "pw", "r")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(c.Close)
			clients[r] = append(clients[r], c)
		}
		var occ strings.Builder
		for m := 1; m < members; m++ {
			fmt.Fprintf(&occ, `<user affiliation="member">u%d-%d@a.example</user>`, r, m)
		}
		if err := clients[r][0].Send(fmt.Sprintf(`<iq type="set" id="c" to="room%d@muclight.a.example"><query xmlns="urn:xmpp:muclight:0#create"><occupants>%s</occupants></query></iq>`, r, occ.String())); err != nil {
			b.Fatal(err)
		}
		if _, err := clients[r][0].Expect(meshtest.Timeout, meshtest.IQ("c")); err != nil {
			b.Fatal(err)
		}
	}
	isBody := func(el *xmlstream.Element) bool {
		return el.Local == "message" && el.Child("jabber:client", "body") != nil && el.Child("jabber:client", "body").Text() == "m"
	}
	per := make([]int, rooms)
	for i := range b.N {
		per[i%rooms]++
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make(chan error, rooms*members)
	for r := range rooms {
		for m := 1; m < members; m++ {
			wg.Add(1)
			go func(c *meshtest.Client, n int) {
				defer wg.Done()
				for range n {
					if _, err := c.Expect(30*time.Second, isBody); err != nil {
						errs <- err
						return
					}
				}
			}(clients[r][m], per[r])
		}
		wg.Add(1)
		go func(c *meshtest.Client, n int, room string) {
			defer wg.Done()
			msg := `<message type="groupchat" to="` + room + `"><body>m</body></message>`
			echoed := 0
			for i := range n {
				if i-echoed >= window {
					if _, err := c.Expect(30*time.Second, isBody); err != nil {
						errs <- err
						return
					}
					echoed++
				}
				if err := c.Send(msg); err != nil {
					errs <- err
					return
				}
			}
			for ; echoed < n; echoed++ {
				if _, err := c.Expect(30*time.Second, isBody); err != nil {
					errs <- err
					return
				}
			}
		}(clients[r][0], per[r], fmt.Sprintf("room%d@muclight.a.example", r))
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(members*b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
