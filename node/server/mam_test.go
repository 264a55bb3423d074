package server_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/mam"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// mamConfig adds the host type "advanced": the default modules plus mod_mam with the
// PM archive (pm = {}); "basic" stays without MAM.
func mamConfig(dir string) *config.Config {
	cfg := server.TestConfig(dir)
	cfg.General.HostTypes = append(cfg.General.HostTypes, "advanced")
	mods := maps.Clone(cfg.Modules)
	mods[mam.Name] = config.Module{Name: mam.Name, Opts: map[string]any{"pm": map[string]any{}}}
	cfg.HostConfigs = append(cfg.HostConfigs, config.HostConfig{HostType: "advanced", Modules: mods})
	return cfg
}

func startMAM(t *testing.T, dir string) (*server.Server, string) {
	t.Helper()
	return serve(t, mamConfig(dir))
}

func provisionHT(t *testing.T, api, hostType, domain string, users ...string) {
	t.Helper()
	if code := rest(t, "PUT", api+"/domains/"+domain, `{"host_type":"`+hostType+`"}`); code/100 != 2 {
		t.Fatalf("add domain: %d", code)
	}
	for _, u := range users {
		if code := rest(t, "POST", api+"/users/"+domain, `{"username":"`+u+`","password":"pw"}`); code/100 != 2 {
			t.Fatalf("add user %s: %d", u, code)
		}
	}
}

// mamPage is one answered query: the bodies and ids of the results, and the fin.
type mamPage struct {
	bodies, ids []string
	stamps      []string
	complete    string
	first, last string
	count       string
}

var queryN int

// mamQuery sends a query (form fields as var=value pairs, RSM as raw XML) and
// collects the results up to the IQ result; it returns the error condition instead
// when the query is refused.
func mamQuery(t *testing.T, c *meshtest.Client, fields []string, rsm string) (mamPage, string) {
	t.Helper()
	return mamQueryAt(t, c, "", fields, rsm)
}

// mamQueryAt is mamQuery of the archive of account to ("": c's own).
func mamQueryAt(t *testing.T, c *meshtest.Client, to string, fields []string, rsm string) (mamPage, string) {
	t.Helper()
	owner := c.JID.Bare().String()
	toAttr := ""
	if to != "" {
		owner, toAttr = to, ` to='`+to+`'`
	}
	queryN++
	id := fmt.Sprintf("q%d", queryN)
	var form string
	if len(fields) > 0 {
		form = `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>`
		for _, f := range fields {
			name, val, _ := strings.Cut(f, "=")
			form += `<field var='` + name + `'>`
			for _, v := range strings.Split(val, ",") {
				form += `<value>` + v + `</value>`
			}
			form += `</field>`
		}
		form += `</x>`
	}
	if err := c.Send(`<iq type='set' id='` + id + `'` + toAttr + `><query xmlns='urn:xmpp:mam:2' queryid='` + id + `'>` + form + rsm + `</query></iq>`); err != nil {
		t.Fatal(err)
	}
	var p mamPage
	for {
		el, err := c.Expect(5*time.Second, func(el *xmlstream.Element) bool {
			return el.Local == "iq" && el.Attr("id") == id || el.Local == "message" && el.Child(mam.NS2, "result") != nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if el.Local == "message" {
			r := el.Child(mam.NS2, "result")
			if r.Attr("queryid") != id || el.Attr("from") != owner {
				t.Fatalf("result of another query: %s", el)
			}
			f := r.Child(mam.NSForward, "forwarded")
			p.bodies = append(p.bodies, f.Child("jabber:client", "message").Child("jabber:client", "body").Text())
			p.ids = append(p.ids, r.Attr("id"))
			p.stamps = append(p.stamps, f.Child("urn:xmpp:delay", "delay").Attr("stamp"))
			continue
		}
		if el.Attr("type") == "error" {
			e := el.Child("jabber:client", "error")
			for _, ch := range e.Elements() {
				if ch.Local != "text" {
					return p, ch.Local + ":" + e.Child("urn:ietf:params:xml:ns:xmpp-stanzas", "text").Text()
				}
			}
		}
		fin := el.Child(mam.NS2, "fin")
		p.complete = fin.Attr("complete")
		set := fin.Child(mam.NSRSM, "set")
		if f := set.Child(mam.NSRSM, "first"); f != nil {
			p.first, p.last = f.Text(), set.Child(mam.NSRSM, "last").Text()
		}
		p.count = set.Child(mam.NSRSM, "count").Text()
		if len(p.ids) > 0 && (p.first != p.ids[0] || p.last != p.ids[len(p.ids)-1]) {
			t.Fatalf("first/last %s/%s, ids %v", p.first, p.last, p.ids)
		}
		return p, ""
	}
}

func wantPage(t *testing.T, p mamPage, complete string, bodies ...string) {
	t.Helper()
	if strings.Join(p.bodies, ",") != strings.Join(bodies, ",") || p.complete != complete {
		t.Fatalf("got %v complete=%s, want %v complete=%s", p.bodies, p.complete, bodies, complete)
	}
}

func bodies(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("m%d", i))
	}
	return out
}

// TestMAMEndToEnd: 30 messages archived for both parties and paged in tens both
// ways, stanza-ids on delivery (a forged one removed), the form's filters, the error
// cases, metadata, preferences, query shaping, and a host type without mod_mam.
func TestMAMEndToEnd(t *testing.T) {
	s, api := startMAM(t, t.TempDir())
	defer s.Close()
	addr := s.C2SAddrs()[0]
	provisionHT(t, api, "advanced", "mam.example", "alice", "bob", "dave")
	provision(t, api, "plain.example", "carol")
	alice := rawLogin(t, addr, "alice", "mam.example")
	bob := rawLogin(t, addr, "bob", "mam.example")

	for i := 1; i <= 30; i++ {
		msg := meshtest.Message("bob@mam.example", fmt.Sprintf("m%d", i))
		if i == 1 {
			// A forged stanza-id in bob's name must not reach him.
			msg = strings.Replace(msg, "<body>", `<stanza-id xmlns='urn:xmpp:sid:0' by='bob@mam.example' id='FAKE'/><body>`, 1)
		}
		if err := alice.Send(msg); err != nil {
			t.Fatal(err)
		}
		el, err := bob.Expect(5*time.Second, meshtest.Body(fmt.Sprintf("m%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		sids := el.ChildrenNamed(mam.NSStanzaID, "stanza-id")
		if len(sids) != 1 || sids[0].Attr("by") != "bob@mam.example" || sids[0].Attr("id") == "FAKE" {
			t.Fatalf("delivered with stanza-ids %v: %s", sids, el)
		}
		if _, err := mam.DecodeID(sids[0].Attr("id")); err != nil {
			t.Fatalf("stanza-id %q: %v", sids[0].Attr("id"), err)
		}
	}

	// The sender's archive, forward in tens.
	p, _ := mamQuery(t, alice, nil, `<set xmlns='http://jabber.org/protocol/rsm'><max>10</max></set>`)
	wantPage(t, p, "false", bodies(1, 10)...)
	if p.count != "30" {
		t.Fatalf("count %s", p.count)
	}
	all := p.ids
	p, _ = mamQuery(t, alice, nil, `<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><after>`+p.last+`</after></set>`)
	wantPage(t, p, "false", bodies(11, 20)...)
	all = append(all, p.ids...)
	p, _ = mamQuery(t, alice, nil, `<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><after>`+p.last+`</after></set>`)
	wantPage(t, p, "true", bodies(21, 30)...)
	all = append(all, p.ids...)
	stamps := p.stamps

	// The recipient's archive, backward in tens from the last page.
	p, _ = mamQuery(t, bob, nil, `<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><before/></set>`)
	wantPage(t, p, "false", bodies(21, 30)...)
	p, _ = mamQuery(t, bob, nil, `<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><before>`+p.first+`</before></set>`)
	wantPage(t, p, "false", bodies(11, 20)...)
	p, _ = mamQuery(t, bob, nil, `<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><before>`+p.first+`</before></set>`)
	wantPage(t, p, "true", bodies(1, 10)...)
	if p.count != "30" {
		t.Fatalf("bob's count %s", p.count)
	}

	// Filters on alice's archive.
	p, _ = mamQuery(t, alice, []string{"with=bob@mam.example/any"}, `<set xmlns='http://jabber.org/protocol/rsm'><max>5</max></set>`)
	wantPage(t, p, "false", bodies(1, 5)...)
	p, _ = mamQuery(t, alice, []string{"with=dave@mam.example"}, "")
	wantPage(t, p, "true")
	p, _ = mamQuery(t, alice, []string{"ids=" + all[6] + "," + all[4]}, "")
	wantPage(t, p, "true", "m5", "m7")
	p, _ = mamQuery(t, alice, []string{"after-id=" + all[24]}, "")
	wantPage(t, p, "true", bodies(26, 30)...)
	p, _ = mamQuery(t, alice, []string{"before-id=" + all[2]}, "")
	wantPage(t, p, "true", "m1", "m2")
	p, _ = mamQuery(t, alice, []string{"start=" + stamps[7]}, "")
	wantPage(t, p, "true", "m28", "m29", "m30")
	p, _ = mamQuery(t, alice, []string{"end=" + stamps[0], "start=" + stamps[0]}, "")
	wantPage(t, p, "true", "m21")
	// flip-page reverses the page.
	p, _ = mamQuery(t, alice, []string{"after-id=" + all[26]}, `<flip-page/>`)
	wantPage(t, p, "true", "m30", "m29", "m28")

	// Errors.
	for _, c := range []struct {
		fields []string
		rsm    string
		want   string
	}{
		{[]string{"after-id=!!"}, "", "not-acceptable:Invalid stanza ID provided"},
		{nil, `<set xmlns='http://jabber.org/protocol/rsm'><after>ZZZ</after></set>`, "not-acceptable:Invalid stanza ID provided"},
		{nil, `<set xmlns='http://jabber.org/protocol/rsm'><after>` + mam.EncodeID(12345) + `</after></set>`, "item-not-found:Message with specified ID is not found"},
		{[]string{"colour=red"}, "", "bad-request:Unknown field: colour"},
	} {
		if _, got := mamQuery(t, alice, c.fields, c.rsm); got != c.want {
			t.Errorf("%v %s: got %q, want %q", c.fields, c.rsm, got, c.want)
		}
	}

	// Metadata: the first and last message.
	alice.Send(`<iq type='get' id='md'><metadata xmlns='urn:xmpp:mam:2'/></iq>`)
	el, err := alice.Expect(5*time.Second, meshtest.IQ("md"))
	if err != nil {
		t.Fatal(err)
	}
	md := el.Child(mam.NS2, "metadata")
	if md.Child(mam.NS2, "start").Attr("id") != all[0] || md.Child(mam.NS2, "end").Attr("id") != all[29] {
		t.Fatalf("metadata %s", el)
	}

	// Preferences: bob archives nothing any more; alice still archives her side.
	bob.Send(`<iq type='set' id='pr'><prefs xmlns='urn:xmpp:mam:2' default='never'/></iq>`)
	if el, err := bob.Expect(5*time.Second, meshtest.IQ("pr")); err != nil || el.Attr("type") != "result" {
		t.Fatalf("prefs set: %v %v", el, err)
	}
	alice.Send(meshtest.Message("bob@mam.example", "secret"))
	el, err = bob.Expect(5*time.Second, meshtest.Body("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if el.Child(mam.NSStanzaID, "stanza-id") != nil {
		t.Fatalf("unarchived message with a stanza-id: %s", el)
	}
	// A forged id is removed even from a message that is not archived.
	alice.Send(`<message to='bob@mam.example' type='chat'><stanza-id xmlns='urn:xmpp:sid:0' by='bob@mam.example' id='FAKE'/><body>secret2</body></message>`)
	el, err = bob.Expect(5*time.Second, meshtest.Body("secret2"))
	if err != nil {
		t.Fatal(err)
	}
	if el.Child(mam.NSStanzaID, "stanza-id") != nil {
		t.Fatalf("forged stanza-id delivered: %s", el)
	}
	p, _ = mamQuery(t, bob, nil, `<set xmlns='http://jabber.org/protocol/rsm'><max>1</max><before/></set>`)
	wantPage(t, p, "false", "m30")
	p, _ = mamQuery(t, alice, nil, `<set xmlns='http://jabber.org/protocol/rsm'><max>2</max><before/></set>`)
	wantPage(t, p, "false", "secret", "secret2")
	bob.Send(`<iq type='get' id='pg'><prefs xmlns='urn:xmpp:mam:2'/></iq>`)
	if el, err := bob.Expect(5*time.Second, meshtest.IQ("pg")); err != nil || el.Child(mam.NS2, "prefs").Attr("default") != "never" {
		t.Fatalf("prefs get: %v %v", el, err)
	}

	// A flood of queries is shaped.
	wantFloodShaped(t, rawLogin(t, addr, "dave", "mam.example"))

	// A host type without mod_mam.
	carol := rawLogin(t, addr, "carol", "plain.example")
	carol.Send(`<iq type='set' id='c'><query xmlns='urn:xmpp:mam:2'/></iq>`)
	el, err = carol.Expect(5*time.Second, meshtest.IQ("c"))
	if err != nil || el.Attr("type") != "error" || el.Child("jabber:client", "error").Child("urn:ietf:params:xml:ns:xmpp-stanzas", "service-unavailable") == nil {
		t.Fatalf("basic host type: %v %v", el, err)
	}
}

// TestMAMSurvivesRestart: a message is archived before it is delivered, so once the
// recipient has it, both archives hold it on disk; after a restart it is there.
func TestMAMSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s, api := startMAM(t, dir)
	provisionHT(t, api, "advanced", "keep.example", "alice", "bob")
	alice := rawLogin(t, s.C2SAddrs()[0], "alice", "keep.example")
	bob := rawLogin(t, s.C2SAddrs()[0], "bob", "keep.example")
	alice.Send(meshtest.Message("bob@keep.example", "durable"))
	if _, err := bob.Expect(5*time.Second, meshtest.Body("durable")); err != nil {
		t.Fatal(err)
	}
	// Delivered means committed: both copies are in this node's store already, before
	// any shutdown could flush anything.
	_ = s.Node.View(func(tx *bolt.Tx) error {
		for _, u := range []string{"alice", "bob"} {
			if n := store.ArchiveCount(tx, "keep.example", u, ""); n != 1 {
				t.Errorf("%s's archive holds %d messages at delivery", u, n)
			}
		}
		return nil
	})
	alice.Kill()
	bob.Kill()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = startMAM(t, dir)
	defer s.Close()
	for _, u := range []string{"alice", "bob"} {
		c := rawLogin(t, s.C2SAddrs()[0], u, "keep.example")
		p, _ := mamQuery(t, c, nil, "")
		wantPage(t, p, "true", "durable")
	}
}

// TestMAMAdminAPI: POST /messages sends as a user and archives for both parties;
// GET /messages lists the most recent, with a conversation filter and a limit;
// removing an account deletes its archive.
func TestMAMAdminAPI(t *testing.T) {
	s, api := startMAM(t, t.TempDir())
	defer s.Close()
	provisionHT(t, api, "advanced", "adm.example", "alice", "bob", "carol")
	for i, c := range []struct{ from, to string }{{"alice", "bob"}, {"bob", "alice"}, {"alice", "carol"}} {
		body := fmt.Sprintf(`{"caller":"%s@adm.example","to":"%s@adm.example","body":"b%d"}`, c.from, c.to, i)
		if code, msg := restBody(t, "POST", api+"/messages", body); code != 204 {
			t.Fatalf("send: %d %s", code, msg)
		}
	}
	if code, msg := restBody(t, "POST", api+"/messages", `{"caller":"nobody@adm.example","to":"bob@adm.example","body":"x"}`); code != 400 || !strings.Contains(msg, "Unknown user") {
		t.Fatalf("unknown sender: %d %s", code, msg)
	}
	if code, msg := restBody(t, "POST", api+"/messages", `{"to":"bob@adm.example","body":"x"}`); code != 400 || !strings.Contains(msg, "Missing sender JID") {
		t.Fatalf("no sender: %d %s", code, msg)
	}
	code, got := restBody(t, "GET", api+"/messages/alice@adm.example", "")
	if code != 200 || strings.Count(got, `"body"`) != 3 || !strings.Contains(got, `"sender":"bob@adm.example","timestamp":`) {
		t.Fatalf("alice's archive: %d %s", code, got)
	}
	if i0, i2 := strings.Index(got, `"b0"`), strings.Index(got, `"b2"`); i0 > i2 {
		t.Fatalf("not oldest first: %s", got)
	}
	code, got = restBody(t, "GET", api+"/messages/alice@adm.example/carol@adm.example?limit=5", "")
	if code != 200 || strings.Count(got, `"body"`) != 1 || !strings.Contains(got, `"b2"`) {
		t.Fatalf("with carol: %d %s", code, got)
	}
	code, got = restBody(t, "GET", api+"/messages/alice@adm.example?limit=1", "")
	if code != 200 || strings.Count(got, `"body"`) != 1 || !strings.Contains(got, `"b2"`) {
		t.Fatalf("limit 1: %d %s", code, got)
	}
	if code, _ = restBody(t, "GET", api+"/messages/alice@adm.example?limit=501", ""); code != 400 {
		t.Fatalf("limit 501: %d", code)
	}
	if code, got = restBody(t, "GET", api+"/messages/carol@adm.example", ""); code != 200 || !strings.Contains(got, `"b2"`) {
		t.Fatalf("carol's archive: %d %s", code, got)
	}
	if code := rest(t, "DELETE", api+"/users/adm.example/carol", ""); code != 204 {
		t.Fatalf("remove carol: %d", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, got = restBody(t, "GET", api+"/messages/carol@adm.example", "")
		if code == 200 && got == "[]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("carol's archive after removal: %d %s", code, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
