package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/node/server"
	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/mam"
	"github.com/mongoose-go/mongoose-go/xmpp/muclight"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// roomArchiveServer serves host type "group": the default modules, mod_muc_light and
// mod_mam with both archives (pm = {}, muc = {host = "muclight.@HOST@"}), and domain
// a.example with the five room users plus zed, who is never in the room.
func roomArchiveServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	s, api := serve(t, withRoomsAndArchives(server.TestConfig(t.TempDir()), "group"))
	provisionHT(t, api, "group", "a.example", append([]string{"zed"}, mucUsers...)...)
	return s, api
}

// roomQuery queries the archive of roomJID as c (RSM as raw XML) and collects the
// page, or returns the error condition.
func roomQuery(t *testing.T, c *meshtest.Client, roomJID, rsm string) (mamPage, string) {
	t.Helper()
	queryN++
	id := fmt.Sprintf("rq%d", queryN)
	isoSend(t, c, `<iq type='set' id='`+id+`' to='`+roomJID+`'><query xmlns='urn:xmpp:mam:2' queryid='`+id+`'>`+rsm+`</query></iq>`)
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
			if r.Attr("queryid") != id || el.Attr("from") != roomJID {
				t.Fatalf("result of another query or archive: %s", el)
			}
			f := r.Child(mam.NSForward, "forwarded")
			msg := f.Child("jabber:client", "message")
			if msg.Attr("type") != "groupchat" || !strings.HasPrefix(msg.Attr("from"), roomJID+"/") {
				t.Fatalf("archived message not from the room: %s", msg)
			}
			p.bodies = append(p.bodies, msg.Child("jabber:client", "body").Text())
			p.ids = append(p.ids, r.Attr("id"))
			continue
		}
		if el.Attr("type") == "error" {
			for _, ch := range el.Child("jabber:client", "error").Elements() {
				if ch.Local != "text" {
					return p, ch.Local
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
		return p, ""
	}
}

// roomArchived counts the messages stored for a room, straight from the store.
func roomArchived(t *testing.T, s *server.Server, parent, roomJID string) int {
	t.Helper()
	n := 0
	if err := s.Node.View(func(tx *bolt.Tx) error {
		page, err := store.QueryArchive(tx, store.ArchiveQuery{Domain: parent, User: roomJID, Max: 1000})
		n = len(page.Messages) + store.ArchiveCount(tx, parent, roomJID, "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func createTeam(t *testing.T, c map[string]*mc) {
	t.Helper()
	wantIQResult(t, muciq(t, c["alice"], "c1", `<iq type="set" id="c1" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#create">`+
		`<occupants><user affiliation="member">bob@a.example</user><user affiliation="member">carol@a.example</user>`+
		`<user affiliation="member">dave@a.example</user><user affiliation="member">eve@a.example</user>`+
		`</occupants></query></iq>`))
	for _, u := range mucUsers {
		expectEl(t, c[u], xIn(room, muclight.NSAffs))
	}
}

// TestMUCLightRoomArchive: a five-member room's group messages are archived once, in
// the room's archive, delivered with <stanza-id by=room> (a forged one removed), paged
// at the room JID by an occupant, refused to a non-occupant, read by the admin API's
// history, and purged with the domain (re-added, the same room has an empty archive).
func TestMUCLightRoomArchive(t *testing.T) {
	t.Parallel()
	s, api := roomArchiveServer(t)
	addr := s.C2SAddrs()[0]
	c := map[string]*mc{}
	for _, u := range mucUsers {
		c[u] = mucLogin(t, addr, u, "a.example")
	}
	createTeam(t, c)

	const n = 12
	sids := map[string]string{}
	for i := 1; i <= n; i++ {
		forged := ""
		if i == 3 {
			forged = `<stanza-id xmlns='urn:xmpp:sid:0' by='` + room + `' id='forged'/>`
		}
		sender := mucUsers[i%len(mucUsers)]
		isoSend(t, c[sender].Client, fmt.Sprintf(`<message type="groupchat" id="g%d" to="%s"><body>m%d</body>%s</message>`, i, room, i, forged))
		for _, u := range mucUsers {
			el := expectEl(t, c[u], meshtest.Body(fmt.Sprintf("m%d", i)))
			var ids []string
			for _, ch := range el.ChildrenNamed(mam.NSStanzaID, "stanza-id") {
				if ch.Attr("by") == room {
					ids = append(ids, ch.Attr("id"))
				}
			}
			if len(ids) != 1 || ids[0] == "forged" || (sids[el.Attr("id")] != "" && sids[el.Attr("id")] != ids[0]) {
				t.Fatalf("%s: stanza-ids by the room %v in %s", u, ids, el.AppendXML(nil, ""))
			}
			sids[el.Attr("id")] = ids[0]
		}
	}
	// Once per room, not once per occupant, and nothing in the occupants' PM archives.
	if got := roomArchived(t, s, "a.example", room); got != 2*n {
		t.Fatalf("room archive holds %d (list+count), want %d", got, 2*n)
	}
	if err := s.Node.View(func(tx *bolt.Tx) error {
		for _, u := range mucUsers {
			if k := store.ArchiveCount(tx, "a.example", u, ""); k != 0 {
				return fmt.Errorf("%s's PM archive holds %d group messages", u, k)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Paging at the room JID, forward and from the end.
	carol := c["carol"].Client
	p, errc := roomQuery(t, carol, room, `<set xmlns='http://jabber.org/protocol/rsm'><max>5</max></set>`)
	if errc != "" {
		t.Fatal(errc)
	}
	wantPage(t, p, "false", bodies(1, 5)...)
	if p.count != fmt.Sprint(n) || p.ids[0] != sids["g1"] {
		t.Fatalf("count %s, first id %s (stanza-id %s)", p.count, p.ids[0], sids["g1"])
	}
	p, _ = roomQuery(t, carol, room, `<set xmlns='http://jabber.org/protocol/rsm'><max>5</max><after>`+p.last+`</after></set>`)
	wantPage(t, p, "false", bodies(6, 10)...)
	p, _ = roomQuery(t, carol, room, `<set xmlns='http://jabber.org/protocol/rsm'><max>5</max><after>`+p.last+`</after></set>`)
	wantPage(t, p, "true", bodies(11, 12)...)
	p, _ = roomQuery(t, carol, room, `<set xmlns='http://jabber.org/protocol/rsm'><max>4</max><before/></set>`)
	wantPage(t, p, "false", bodies(9, 12)...)

	// include-groupchat at the PM archive: accepted, and group messages are never there.
	if p, errc := mamQuery(t, carol, []string{"include-groupchat=true"}, ""); errc != "" || p.count != "0" {
		t.Fatalf("include-groupchat: %v %q", p, errc)
	}
	if _, errc := mamQuery(t, carol, []string{"include-groupchat=maybe"}, ""); !strings.HasPrefix(errc, "bad-request") {
		t.Fatalf("include-groupchat=maybe: %q", errc)
	}

	// A non-occupant: as for every room request, the room does not exist for him.
	zed := rawLogin(t, addr, "zed", "a.example")
	if _, errc := roomQuery(t, zed, room, ""); errc != "item-not-found" {
		t.Fatalf("non-occupant query: %q", errc)
	}

	// The admin API's history reads the same archive.
	code, body := restBody(t, "GET", api+"/muc-lights/muclight.a.example/team/messages?limit=3", "")
	if code != 200 || !strings.Contains(body, "m12") || strings.Contains(body, "m9") {
		t.Fatalf("history: %d %s", code, body)
	}

	// Domain removal purges the room archive; the re-added domain's same room is empty.
	if code := rest(t, "DELETE", api+"/domains/a.example", `{"host_type":"group"}`); code != 204 {
		t.Fatalf("remove domain: %d", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for roomArchived(t, s, "a.example", room) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("room archive of a removed domain remains")
		}
		time.Sleep(20 * time.Millisecond) // purge is asynchronous; poll its effect
	}
	waitDomainGone(t, s, "a.example")
	provisionHT(t, api, "group", "a.example", mucUsers...)
	c2 := map[string]*mc{}
	for _, u := range mucUsers {
		c2[u] = mucLogin(t, addr, u, "a.example")
	}
	createTeam(t, c2)
	p, errc = roomQuery(t, c2["bob"].Client, room, "")
	if errc != "" || len(p.bodies) != 0 || p.count != "0" || p.complete != "true" {
		t.Fatalf("re-added room archive: %v %q", p, errc)
	}
}

// waitDomainGone waits until the domain row is gone (its purge finished), so that it
// can be added again.
func waitDomainGone(t *testing.T, s *server.Server, domain string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := s.Node.Directory().HostTypeOf(domain); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("domain not removed")
		}
		time.Sleep(20 * time.Millisecond) // removal is asynchronous; poll its effect
	}
}

// TestMUCLightRoomArchiveForgottenOnDestroy: destroying a room deletes its archive
// (MongooseIM's forget_room hook), so a new room of the same name starts empty.
func TestMUCLightRoomArchiveForgottenOnDestroy(t *testing.T) {
	t.Parallel()
	s, _ := roomArchiveServer(t)
	addr := s.C2SAddrs()[0]
	c := map[string]*mc{}
	for _, u := range mucUsers {
		c[u] = mucLogin(t, addr, u, "a.example")
	}
	createTeam(t, c)
	isoSend(t, c["bob"].Client, `<message type="groupchat" id="x" to="`+room+`"><body>hello</body></message>`)
	expectEl(t, c["alice"], meshtest.Body("hello"))
	if roomArchived(t, s, "a.example", room) == 0 {
		t.Fatal("not archived")
	}
	wantIQResult(t, muciq(t, c["alice"], "d1", `<iq type="set" id="d1" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#destroy"/></iq>`))
	if n := roomArchived(t, s, "a.example", room); n != 0 {
		t.Fatalf("destroyed room's archive: %d", n)
	}
}
