package server_test

import (
	"strings"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/muclight"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

const nsRoster = "jabber:iq:roster"

// rosterItem returns the roster get item for jid in c's roster, or nil.
func rosterItem(t *testing.T, c *mc, id, jid string) *xmlstream.Element {
	t.Helper()
	res := muciq(t, c, id, `<iq type="get" id="`+id+`"><query xmlns="jabber:iq:roster"/></iq>`)
	wantIQResult(t, res)
	for _, it := range res.Child(nsRoster, "query").ChildrenNamed(nsRoster, "item") {
		if it.Attr("jid") == jid {
			return it
		}
	}
	return nil
}

// createNamedTeam creates room "team" named "Team" with alice as owner and bob as
// member and returns the version both were told.
func createNamedTeam(t *testing.T, alice, bob *mc) string {
	t.Helper()
	wantIQResult(t, muciq(t, alice, "c1", `<iq type="set" id="c1" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#create">`+
		`<configuration><roomname>Team</roomname></configuration>`+
		`<occupants><user affiliation="member">bob@a.example</user></occupants></query></iq>`))
	_, _, ver := affsOf(expectEl(t, alice, xIn(room, muclight.NSAffs)))
	expectEl(t, bob, xIn(room, muclight.NSAffs))
	return ver
}

// TestMUCLightRoomsInRosters: with rooms_in_rosters, an occupant's roster get lists
// each room as MongooseIM's add_rooms_to_roster does (subscription "to", group
// urn:xmpp:muclight:0, name the roomname, the room version); a non-occupant's does
// not, and a room left disappears.
func TestMUCLightRoomsInRosters(t *testing.T) {
	t.Parallel()
	s, _ := mucLightServerWith(t, map[string]any{"rooms_in_rosters": true}, nil)
	addr := s.C2SAddrs()[0]
	alice := mucLogin(t, addr, "alice", "a.example")
	bob := mucLogin(t, addr, "bob", "a.example")
	carol := mucLogin(t, addr, "carol", "a.example")
	ver := createNamedTeam(t, alice, bob)

	for _, c := range []*mc{alice, bob} {
		it := rosterItem(t, c, "r1", room)
		if it == nil {
			t.Fatalf("%s: room not in roster", c.JID)
		}
		g := it.Child(nsRoster, "group")
		v := it.Child(nsRoster, "version")
		if it.Attr("name") != "Team" || it.Attr("subscription") != "to" || g == nil || g.Text() != muclight.NS ||
			v == nil || v.Text() != ver {
			t.Fatalf("%s: room item %s (version %s)", c.JID, it, ver)
		}
	}
	if it := rosterItem(t, carol, "r2", room); it != nil {
		t.Fatalf("non-occupant's roster has the room: %s", it)
	}
	// bob leaves: the room goes from his roster.
	wantIQResult(t, muciq(t, bob, "l1", `<iq type="set" id="l1" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#affiliations">`+
		`<user affiliation="none">bob@a.example</user></query></iq>`))
	if it := rosterItem(t, bob, "r3", room); it != nil {
		t.Fatalf("left room still in roster: %s", it)
	}
}

// TestMUCLightRoomsNotInRostersByDefault: without rooms_in_rosters (default false) an
// occupant's roster get has no room.
func TestMUCLightRoomsNotInRostersByDefault(t *testing.T) {
	t.Parallel()
	s, _ := mucLightServer(t)
	addr := s.C2SAddrs()[0]
	alice := mucLogin(t, addr, "alice", "a.example")
	bob := mucLogin(t, addr, "bob", "a.example")
	createNamedTeam(t, alice, bob)
	if it := rosterItem(t, alice, "r1", room); it != nil {
		t.Fatalf("room in roster without rooms_in_rosters: %s", it)
	}
}

// roomFeatures returns the features of the room's disco#info as c sees it.
func roomFeatures(t *testing.T, c *mc, id string) []string {
	t.Helper()
	res := muciq(t, c, id, `<iq type="get" id="`+id+`" to="`+room+`"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	wantIQResult(t, res)
	var out []string
	for _, f := range res.Child("http://jabber.org/protocol/disco#info", "query").ChildrenNamed("http://jabber.org/protocol/disco#info", "feature") {
		out = append(out, f.Attr("var"))
	}
	return out
}

var roomMAMFeatures = []string{"urn:xmpp:mam:1", "urn:xmpp:mam:2", "urn:xmpp:mam:2#extended"}

// TestMUCLightRoomDiscoMAM: a room's disco#info advertises the MAM namespaces when its
// host type archives rooms (mod_mam muc), and none without it; the service's
// disco#info never does.
func TestMUCLightRoomDiscoMAM(t *testing.T) {
	t.Parallel()
	t.Run("archived", func(t *testing.T) {
		t.Parallel()
		s, _ := roomArchiveServer(t)
		addr := s.C2SAddrs()[0]
		c := map[string]*mc{}
		for _, u := range mucUsers {
			c[u] = mucLogin(t, addr, u, "a.example")
		}
		createTeam(t, c)
		feats := strings.Join(roomFeatures(t, c["alice"], "d1"), " ")
		for _, ns := range roomMAMFeatures {
			if !strings.Contains(" "+feats+" ", " "+ns+" ") {
				t.Fatalf("room disco#info lacks %s: %s", ns, feats)
			}
		}
		svc := muciq(t, c["alice"], "d2", `<iq type="get" id="d2" to="muclight.a.example"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
		if strings.Contains(svc.String(), "urn:xmpp:mam") {
			t.Fatalf("service disco#info advertises MAM: %s", svc)
		}
	})
	t.Run("not archived", func(t *testing.T) {
		t.Parallel()
		s, _ := mucLightServer(t)
		addr := s.C2SAddrs()[0]
		alice := mucLogin(t, addr, "alice", "a.example")
		bob := mucLogin(t, addr, "bob", "a.example")
		createNamedTeam(t, alice, bob)
		feats := roomFeatures(t, alice, "d1")
		if !strings.Contains(strings.Join(feats, " "), muclight.NS) {
			t.Fatalf("room disco#info without the MUC Light feature: %v", feats)
		}
		if strings.Contains(strings.Join(feats, " "), "urn:xmpp:mam") {
			t.Fatalf("room disco#info advertises MAM without a room archive: %v", feats)
		}
	})
}
