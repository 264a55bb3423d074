package server_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/muclight"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// removalServer serves host type "full": the default modules (mod_roster, mod_offline,
// mod_vcard, mod_private, mod_last, mod_blocking, ...) plus mod_muc_light and mod_mam
// archiving both one-to-one and MUC Light room messages, with domains a.example and
// b.example, each with alice, bob and carol. Nothing isolates the domains, so what
// reaches (or not) a removed domain is routing's doing alone.
func removalServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	s, api := serve(t, withRoomsAndArchives(server.TestConfig(t.TempDir()), "full"))
	for _, d := range []string{"a.example", "b.example"} {
		provisionHT(t, api, "full", d, "alice", "bob", "carol")
	}
	return s, api
}

// connect makes two users of a domain contacts with subscription both.
func connect(t *testing.T, api, a, b string) {
	t.Helper()
	if code, body := restBody(t, "PUT", api+"/contacts/"+a+"/"+b+"/manage", `{"action":"connect"}`); code != 204 {
		t.Fatalf("connect %s %s: %d %s", a, b, code, body)
	}
}

// rosterJIDs returns the JIDs of c's roster, fetched over XMPP.
func rosterJIDs(t *testing.T, c *mc, id string) []string {
	t.Helper()
	el := muciq(t, c, id, `<iq type='get' id='`+id+`'><query xmlns='jabber:iq:roster'/></iq>`)
	wantIQResult(t, el)
	out := []string{}
	for _, it := range el.Child("jabber:iq:roster", "query").ChildrenNamed("jabber:iq:roster", "item") {
		out = append(out, it.Attr("jid"))
	}
	return out
}

// chat sends a chat message from one client and waits until the other has it: the
// message is archived for both before it is delivered.
func chat(t *testing.T, from, to *mc, body string) {
	t.Helper()
	isoSend(t, from.Client, meshtest.Message(to.JID.Bare().String(), body))
	to.expect(t, meshtest.Body(body))
}

// pmArchive returns the bodies and count of c's own archive.
func pmArchive(t *testing.T, c *mc) ([]string, string) {
	t.Helper()
	p, errc := mamQuery(t, c.Client, nil, "")
	if errc != "" {
		t.Fatalf("%s: MAM query refused: %s", c.JID, errc)
	}
	return p.bodies, p.count
}

// lastOf asks for to's last activity and returns the reply.
func lastOf(t *testing.T, c *mc, id, to string) *xmlstream.Element {
	t.Helper()
	toAttr := ""
	if to != "" {
		toAttr = ` to='` + to + `'`
	}
	return muciq(t, c, id, `<iq type='get' id='`+id+`'`+toAttr+`><query xmlns='jabber:iq:last'/></iq>`)
}

// errorCondition returns "type/condition" of an IQ error reply, "" for a result.
func errorCondition(el *xmlstream.Element) string {
	if el.Attr("type") != "error" {
		return ""
	}
	e := el.Child(xmlstream.ClientNamespace, "error")
	if e == nil {
		return "error without <error/>"
	}
	for _, ch := range e.Elements() {
		if ch.Local != "text" {
			return e.Attr("type") + "/" + ch.Local
		}
	}
	return e.Attr("type") + "/"
}

// TestDomainRemovalDeletesEverything is reference 10.2 behaviour 28 end to end:
// domain A gets every kind of per-user and per-room data the modules keep; removing
// it through the REST API (synchronous DELETE, 204) refuses its users' logins while
// B's still work; the re-added A with the same user names starts empty, as seen over
// XMPP; B's data is untouched.
func TestDomainRemovalDeletesEverything(t *testing.T) {
	t.Parallel()
	s, api := removalServer(t)
	addr := s.C2SAddrs()[0]
	const a, b = "a.example", "b.example"
	const teamRoom = "team@muclight." + a

	// Domain A: alice and bob are contacts; carol never logs in.
	connect(t, api, "alice@"+a, "bob@"+a)
	alice := mucLogin(t, addr, "alice", a)
	bob := mucLogin(t, addr, "bob", a)
	if got := rosterJIDs(t, alice, "r0"); fmt.Sprint(got) != "[bob@a.example]" {
		t.Fatalf("alice's roster before: %v", got)
	}
	// Archived one-to-one message.
	chat(t, alice, bob, "pm before removal")
	if bodies, _ := pmArchive(t, alice); fmt.Sprint(bodies) != "[pm before removal]" {
		t.Fatalf("alice's archive before: %v", bodies)
	}
	// An offline message for carol; the ping's answer means it is stored.
	isoSend(t, alice.Client, meshtest.Message("carol@"+a, "offline before removal"))
	wantIQResult(t, muciq(t, alice, "p0", `<iq type='get' id='p0' to='`+a+`'><ping xmlns='urn:xmpp:ping'/></iq>`))
	// vCard and private XML.
	wantIQResult(t, muciq(t, alice, "v0", `<iq type='set' id='v0'><vCard xmlns='vcard-temp'><FN>Alice A</FN></vCard></iq>`))
	wantIQResult(t, muciq(t, alice, "x0", `<iq type='set' id='x0'><query xmlns='jabber:iq:private'><prefs xmlns='ex:prefs'>secret</prefs></query></iq>`))
	// A block list entry (XEP-0191) and a MUC Light blocking entry.
	wantIQResult(t, muciq(t, alice, "b0", `<iq type='set' id='b0'><block xmlns='urn:xmpp:blocking'><item jid='mallory@a.example'/></block></iq>`))
	wantIQResult(t, muciq(t, bob, "mb0", `<iq type='set' id='mb0' to='muclight.a.example'><query xmlns='urn:xmpp:muclight:0#blocking'><user action='deny'>mallory@a.example</user></query></iq>`))
	// A MUC Light room with an archived room message.
	wantIQResult(t, muciq(t, alice, "c0", `<iq type='set' id='c0' to='`+teamRoom+`'><query xmlns='urn:xmpp:muclight:0#create'>`+
		`<occupants><user affiliation='member'>bob@a.example</user></occupants></query></iq>`))
	expectEl(t, bob, xIn(teamRoom, muclight.NSAffs))
	isoSend(t, alice.Client, `<message type='groupchat' id='g0' to='`+teamRoom+`'><body>room before removal</body></message>`)
	bob.expect(t, meshtest.Body("room before removal"))
	alice.expect(t, meshtest.Body("room before removal"))
	if p, errc := roomQuery(t, alice.Client, teamRoom, ""); errc != "" || fmt.Sprint(p.bodies) != "[room before removal]" {
		t.Fatalf("room archive before: %v %q", p.bodies, errc)
	}
	// Last activity: bob logs out with a status; alice, his contact, sees it.
	isoSend(t, bob.Client, `<presence type='unavailable'><status>gone fishing</status></presence>`)
	bob.Close()
	for i := 0; ; i++ {
		q := lastOf(t, alice, fmt.Sprintf("l%d", i), "bob@"+a).Child("jabber:iq:last", "query")
		if q != nil && q.Text() == "gone fishing" {
			break
		}
		if i == 100 {
			t.Fatal("bob's logout never recorded")
		}
		time.Sleep(20 * time.Millisecond) // the logout is written after the session ends
	}
	// Everything is in the store before the removal.
	if err := s.Node.View(func(tx *bolt.Tx) error {
		var missing []string
		check := func(what string, ok bool) {
			if !ok {
				missing = append(missing, what)
			}
		}
		check("offline", store.OfflineCount(tx, a, "carol") == 1)
		check("vcard", store.GetVCard(tx, a, "alice") != "")
		check("private", store.GetPrivate(tx, a, "alice", "ex:prefs") != "")
		_, hasLast := store.GetLast(tx, a, "bob")
		check("last", hasLast)
		check("blocklist", len(store.Blocklist(tx, a, "alice")) == 1)
		check("muclight blocking", len(store.MUCLightBlocked(tx, a, "bob@"+a)) == 1)
		_, rooms := store.MUCLightUserRooms(tx, a, "alice@"+a, "", 0)
		check("rooms", rooms == 1)
		if len(missing) > 0 {
			return fmt.Errorf("not stored before removal: %v", missing)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Domain B: contacts with an archived message and a vCard.
	connect(t, api, "alice@"+b, "bob@"+b)
	aliceB := mucLogin(t, addr, "alice", b)
	bobB := mucLogin(t, addr, "bob", b)
	chat(t, aliceB, bobB, "pm on b")
	wantIQResult(t, muciq(t, aliceB, "vb", `<iq type='set' id='vb'><vCard xmlns='vcard-temp'><FN>Alice B</FN></vCard></iq>`))

	// Remove A synchronously.
	if code, body := restBody(t, "DELETE", api+"/domains/"+a, `{"host_type":"full"}`); code != 204 {
		t.Fatalf("remove %s: %d %s", a, code, body)
	}
	select {
	case <-alice.Done():
	case <-time.After(time.Second):
		t.Fatal("alice@a.example still connected after the removal")
	}
	if _, err := meshtest.Login(addr, "alice", a, "pw", "r"); err == nil || !strings.Contains(err.Error(), "host-unknown") {
		t.Fatalf("login on the removed domain: %v, want <host-unknown/>", err)
	}
	c, err := meshtest.Login(addr, "carol", b, "pw", "r")
	if err != nil {
		t.Fatalf("login on the other domain: %v", err)
	}
	c.Close()
	if err := s.Node.View(func(tx *bolt.Tx) error {
		if store.HasDomainData(tx, a) {
			return errors.New("data of the removed domain left in the store")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Re-add A with carol only: alice's vCard is asked for while she has no account,
	// MongooseIM's "the vCard request returns an error". Carol's initial presence
	// brings no offline message; the ping's answer comes after anything it would
	// have delivered.
	provisionHT(t, api, "full", a, "carol")
	carol := mucLogin(t, addr, "carol", a)
	if got := errorCondition(muciq(t, carol, "v1", `<iq type='get' id='v1' to='alice@a.example'><vCard xmlns='vcard-temp'/></iq>`)); got != "cancel/service-unavailable" {
		t.Fatalf("vCard of a removed user: %q", got)
	}
	wantIQResult(t, muciq(t, carol, "p1", `<iq type='get' id='p1' to='`+a+`'><ping xmlns='urn:xmpp:ping'/></iq>`))
	for _, el := range carol.kept {
		if el.Local == "message" {
			t.Errorf("carol got %s after re-add", el.AppendXML(nil, ""))
		}
	}
	noMessage(t, carol.Client)

	for _, u := range []string{"alice", "bob"} {
		if code := rest(t, "POST", api+"/users/"+a, `{"username":"`+u+`","password":"pw"}`); code != 201 {
			t.Fatalf("re-register %s: %d", u, code)
		}
	}
	alice = mucLogin(t, addr, "alice", a)

	// Roster: 0 items (bob has not logged in: his is read through REST).
	if got := rosterJIDs(t, alice, "r1"); len(got) != 0 {
		t.Errorf("alice's roster after re-add: %v", got)
	}
	if code, body := restBody(t, "GET", api+"/contacts/bob@"+a, ""); code != 200 || body != `[]` {
		t.Errorf("bob's roster after re-add: %d %s", code, body)
	}
	// PM archive: 0 messages.
	if bodies, count := pmArchive(t, alice); len(bodies) != 0 || count != "0" {
		t.Errorf("alice's archive after re-add: %v count %s", bodies, count)
	}
	// vCard: the re-registered alice has an empty one.
	if el := muciq(t, alice, "v2", `<iq type='get' id='v2'><vCard xmlns='vcard-temp'/></iq>`); el.Attr("type") != "result" ||
		el.Child("vcard-temp", "vCard") == nil || len(el.Child("vcard-temp", "vCard").Children) != 0 {
		t.Errorf("alice's vCard after re-add: %s", el)
	}
	// Private storage: empty.
	el := muciq(t, alice, "x1", `<iq type='get' id='x1'><query xmlns='jabber:iq:private'><prefs xmlns='ex:prefs'/></query></iq>`)
	if q := el.Child("jabber:iq:private", "query"); el.Attr("type") != "result" || q == nil ||
		q.Child("ex:prefs", "prefs") == nil || len(q.Child("ex:prefs", "prefs").Children) != 0 {
		t.Errorf("alice's private storage after re-add: %s", el)
	}
	// Last activity: alice is no longer bob's contact, so MongooseIM's auth/forbidden.
	// Made contacts again, she finds no stored logout of bob (who has not logged in
	// since): service-unavailable, where a surviving record would answer "gone fishing".
	if got := errorCondition(lastOf(t, alice, "l-a", "bob@"+a)); got != "auth/forbidden" {
		t.Errorf("alice asks bob's last activity: %q, want auth/forbidden", got)
	}
	connect(t, api, "alice@"+a, "bob@"+a)
	if el := lastOf(t, alice, "l-b", "bob@"+a); errorCondition(el) != "cancel/service-unavailable" {
		t.Errorf("bob's last activity for a contact: %s, want cancel/service-unavailable (nothing stored)", el)
	}
	bob = mucLogin(t, addr, "bob", a)
	// Block lists: empty.
	if el := muciq(t, alice, "b1", `<iq type='get' id='b1'><blocklist xmlns='urn:xmpp:blocking'/></iq>`); el.Attr("type") != "result" ||
		len(el.Child("urn:xmpp:blocking", "blocklist").Elements()) != 0 {
		t.Errorf("alice's block list after re-add: %s", el)
	}
	if el := muciq(t, bob, "mb1", `<iq type='get' id='mb1' to='muclight.a.example'><query xmlns='urn:xmpp:muclight:0#blocking'/></iq>`); el.Attr("type") != "result" ||
		strings.Contains(string(el.AppendXML(nil, "")), "mallory") {
		t.Errorf("bob's MUC Light blocking list after re-add: %s", el)
	}
	// MUC Light: no rooms, the old room is gone, and a new room of that name starts
	// with an empty archive.
	if el := muciq(t, alice, "d1", `<iq type='get' id='d1' to='muclight.a.example'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`); el.Attr("type") != "result" ||
		len(el.Child("http://jabber.org/protocol/disco#items", "query").ChildrenNamed("http://jabber.org/protocol/disco#items", "item")) != 0 {
		t.Errorf("alice's rooms after re-add: %s", el)
	}
	if got := errorCondition(muciq(t, alice, "i1", `<iq type='get' id='i1' to='`+teamRoom+`'><query xmlns='urn:xmpp:muclight:0#info'/></iq>`)); got != "cancel/item-not-found" {
		t.Errorf("old room after re-add: %q", got)
	}
	wantIQResult(t, muciq(t, alice, "c1", `<iq type='set' id='c1' to='`+teamRoom+`'><query xmlns='urn:xmpp:muclight:0#create'/></iq>`))
	if p, errc := roomQuery(t, alice.Client, teamRoom, ""); errc != "" || len(p.bodies) != 0 || p.count != "0" {
		t.Errorf("room archive after re-add: %v count %s %q", p.bodies, p.count, errc)
	}
	// Domain B kept its roster, archive and vCard.
	if got := rosterJIDs(t, aliceB, "rb"); fmt.Sprint(got) != "[bob@b.example]" {
		t.Errorf("alice@b.example's roster: %v", got)
	}
	if bodies, _ := pmArchive(t, bobB); fmt.Sprint(bodies) != "[pm on b]" {
		t.Errorf("bob@b.example's archive: %v", bodies)
	}
	if el := muciq(t, bobB, "vb2", `<iq type='get' id='vb2' to='alice@b.example'><vCard xmlns='vcard-temp'/></iq>`); el.Child("vcard-temp", "vCard") == nil ||
		el.Child("vcard-temp", "vCard").Child("vcard-temp", "FN").Text() != "Alice B" {
		t.Errorf("alice@b.example's vCard: %s", el)
	}
}

// TestRemovedDomainUnroutable is reference 10.2 behaviour 30: once a domain is
// removed, an IQ from another domain's user to it, to its MUC Light subdomain or to
// one of its users gets cancel/remote-server-not-found; before, they were served.
func TestRemovedDomainUnroutable(t *testing.T) {
	t.Parallel()
	s, api := removalServer(t)
	bobB := mucLogin(t, s.C2SAddrs()[0], "bob", "b.example")
	ping := func(id, to string) string {
		t.Helper()
		return errorCondition(muciq(t, bobB, id, `<iq type='get' id='`+id+`' to='`+to+`'><ping xmlns='urn:xmpp:ping'/></iq>`))
	}
	disco := func(id, to string) string {
		t.Helper()
		return errorCondition(muciq(t, bobB, id, `<iq type='get' id='`+id+`' to='`+to+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`))
	}
	if got := ping("p0", "a.example"); got != "" {
		t.Fatalf("ping a.example before removal: %q", got)
	}
	if got := disco("d0", "muclight.a.example"); got != "" {
		t.Fatalf("disco muclight.a.example before removal: %q", got)
	}
	if code := rest(t, "DELETE", api+"/domains/a.example", `{"host_type":"full"}`); code != 204 {
		t.Fatalf("remove: %d", code)
	}
	for _, c := range []struct{ name, got string }{
		{"domain", ping("p1", "a.example")},
		{"subdomain", disco("d1", "muclight.a.example")},
		{"room", disco("d2", "team@muclight.a.example")},
		{"user", disco("d3", "alice@a.example")},
	} {
		if c.got != "cancel/remote-server-not-found" {
			t.Errorf("IQ to the removed %s: %q, want cancel/remote-server-not-found", c.name, c.got)
		}
	}
	// The sender's own domain is unaffected.
	if got := ping("p2", "b.example"); got != "" {
		t.Errorf("ping b.example: %q", got)
	}
}
