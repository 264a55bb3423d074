package muclight_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/muclight"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

const svc = "muclight.a.com"

// harness serves a.com with the module on; muclight.a.com is in the directory as
// node/server's subdomain wrapper makes it.
func harness(t testing.TB, opts moduletest.Options, schema []muclight.SchemaField) (*moduletest.Harness, *muclight.Service) {
	h := moduletest.New(t, map[string]string{"a.com": "muc", svc: "muc"})
	s := muclight.New(h.Host)
	if schema != nil {
		s.SetSchemas(map[string][]muclight.SchemaField{"muc": schema})
	}
	var o module.Options = module.NoOptions{}
	if opts != nil {
		o = opts
	}
	h.Start("muc", s.Module(), o)
	for _, u := range []string{"alice", "bob", "carol", "dave", "eve"} {
		h.AddUser("a.com", u)
	}
	return h, s
}

func login(h *moduletest.Harness, users ...string) map[string]*moduletest.Session {
	out := map[string]*moduletest.Session{}
	for _, u := range users {
		out[u] = h.Login(u + "@a.com/r")
	}
	return out
}

// iq sends an IQ and returns the reply (the last IQ the session received).
func iq(t *testing.T, s *moduletest.Session, raw string) *xmlstream.Element {
	t.Helper()
	s.Send(raw)
	var reply *xmlstream.Element
	for _, el := range s.Take() {
		if el.Local == "iq" {
			reply = el
		}
	}
	if reply == nil {
		t.Fatalf("no reply to %s", raw)
	}
	return reply
}

func xml(el *xmlstream.Element) string { return string(el.AppendXML(nil, "")) }

func wantErr(t *testing.T, el *xmlstream.Element, cond string) {
	t.Helper()
	if el.Attr("type") != "error" || !strings.Contains(xml(el), "<"+cond+" ") {
		t.Fatalf("want %s, got %s", cond, xml(el))
	}
}

func wantOK(t *testing.T, el *xmlstream.Element) {
	t.Helper()
	if el.Attr("type") != "result" {
		t.Fatalf("want result, got %s", xml(el))
	}
}

func create(t *testing.T, s *moduletest.Session, room string, occupants ...string) *xmlstream.Element {
	t.Helper()
	var b strings.Builder
	for _, o := range occupants {
		u, aff, _ := strings.Cut(o, "=")
		fmt.Fprintf(&b, `<user affiliation="%s">%s@a.com</user>`, aff, u)
	}
	return iq(t, s, `<iq type="set" id="c" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#create"><occupants>`+b.String()+`</occupants></query></iq>`)
}

func setAff(t *testing.T, s *moduletest.Session, room, user, aff string) *xmlstream.Element {
	t.Helper()
	return iq(t, s, `<iq type="set" id="a" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#affiliations"><user affiliation="`+aff+`">`+user+`@a.com</user></query></iq>`)
}

func occupants(t *testing.T, s *moduletest.Session, room string) string {
	t.Helper()
	r := iq(t, s, `<iq type="get" id="g" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#affiliations"/></iq>`)
	var out []string
	for _, u := range r.Child(muclight.NSAffs, "query").ChildrenNamed(muclight.NSAffs, "user") {
		out = append(out, strings.TrimSuffix(u.Text(), "@a.com")+"="+u.Attr("affiliation"))
	}
	return strings.Join(out, " ")
}

func TestHostPrefix(t *testing.T) {
	for in, want := range map[string]string{"muclight.@HOST@": "muclight.", "group.@HOST@": "group.", "muc.example.com": "", "@HOST@": ""} {
		got, ok := muclight.HostPrefix(in)
		if got != want && ok || ok != (want != "") {
			t.Errorf("HostPrefix(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestOwnershipHandoverAndPromotion(t *testing.T) {
	h, _ := harness(t, nil, nil)
	c := login(h, "alice", "bob", "carol")
	room := "r@" + svc
	wantOK(t, create(t, c["alice"], room, "bob=member", "carol=member"))
	// With one owner allowed, naming a new owner demotes the old one.
	wantOK(t, setAff(t, c["alice"], room, "bob", "owner"))
	if got := occupants(t, c["carol"], room); got != "alice=member bob=owner carol=member" {
		t.Fatalf("after handover: %s", got)
	}
	wantErr(t, setAff(t, c["alice"], room, "carol", "none"), "not-allowed")
	// The last owner leaves: the first remaining occupant is promoted.
	wantOK(t, setAff(t, c["bob"], room, "bob", "none"))
	if got := occupants(t, c["carol"], room); got != "alice=owner carol=member" {
		t.Fatalf("after owner left: %s", got)
	}
	// Everyone leaves: the room is gone.
	wantOK(t, setAff(t, c["carol"], room, "carol", "none"))
	wantOK(t, setAff(t, c["alice"], room, "alice", "none"))
	// Everyone left, so the room is gone and its name is free again.
	wantOK(t, create(t, c["alice"], room))
}

func TestLimitsAndOptions(t *testing.T) {
	h, _ := harness(t, moduletest.Options{"promote_on_last_owner_leave": false, "all_can_invite": true,
		"max_occupants": 3, "rooms_per_user": 1}, nil)
	c := login(h, "alice", "bob", "carol", "dave")
	room := "r@" + svc
	wantOK(t, create(t, c["alice"], room, "bob=member"))
	// all_can_invite: a member adds a member, but not an owner.
	wantOK(t, setAff(t, c["bob"], room, "carol", "member"))
	wantErr(t, setAff(t, c["bob"], room, "dave", "owner"), "not-allowed")
	// max_occupants 3.
	wantErr(t, setAff(t, c["alice"], room, "dave", "member"), "not-allowed")
	// No promotion: the only owner cannot leave.
	wantErr(t, setAff(t, c["alice"], room, "alice", "none"), "not-allowed")
	// rooms_per_user 1: bob is in a room already.
	wantErr(t, create(t, c["dave"], "s@"+svc, "bob=member"), "not-allowed")
	wantOK(t, create(t, c["dave"], "s@"+svc))
	// Two owners at creation need allow_multiple_owners.
	wantErr(t, create(t, c["alice"], "t@"+svc, "bob=owner", "carol=owner"), "bad-request")
}

func TestEqualOccupants(t *testing.T) {
	h, _ := harness(t, moduletest.Options{"equal_occupants": true}, nil)
	c := login(h, "alice", "bob")
	room := "r@" + svc
	wantOK(t, create(t, c["alice"], room, "bob=member"))
	if got := occupants(t, c["bob"], room); got != "alice=member bob=member" {
		t.Fatalf("equal occupants: %s", got)
	}
}

func TestConfigSchemaAndBadInput(t *testing.T) {
	h, _ := harness(t, nil, []muclight.SchemaField{{Name: "roomname", Type: "string", Default: "Untitled"},
		{Name: "subject", Type: "string"}, {Name: "max", Type: "integer", Default: "5"}})
	c := login(h, "alice", "bob")
	room := "r@" + svc
	wantOK(t, create(t, c["alice"], room, "bob=member"))
	get := iq(t, c["bob"], `<iq type="get" id="g" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#configuration"/></iq>`)
	if s := xml(get); !strings.Contains(s, "<max>5</max>") || !strings.Contains(s, "<roomname>Untitled</roomname>") {
		t.Fatalf("config with schema defaults: %s", s)
	}
	// The version shortcut: an up-to-date client gets an empty result.
	ver := get.Child(muclight.NSConfig, "query").Child(muclight.NSConfig, "version").Text()
	same := iq(t, c["bob"], `<iq type="get" id="g" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#configuration"><version>`+ver+`</version></query></iq>`)
	if same.Child(muclight.NSConfig, "query") != nil {
		t.Fatalf("up-to-date config get: %s", xml(same))
	}
	set := func(body string) *xmlstream.Element {
		return iq(t, c["alice"], `<iq type="set" id="s" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#configuration">`+body+`</query></iq>`)
	}
	wantErr(t, set(`<max>many</max>`), "bad-request")
	wantErr(t, set(`<colour>red</colour>`), "bad-request")
	wantErr(t, set(`<roomname>`+strings.Repeat("x", 9000)+`</roomname>`), "bad-request")
	wantOK(t, set(`<max>7</max>`))
	wantErr(t, iq(t, c["alice"], `<iq type="set" id="s" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#affiliations"><user affiliation="king">bob@a.com</user></query></iq>`), "bad-request")
	wantErr(t, iq(t, c["alice"], `<iq type="set" id="s" to="`+room+`"><query xmlns="urn:xmpp:muclight:0#create"><occupants><user affiliation="member">alice@a.com</user></occupants></query></iq>`), "bad-request")
	// A non-groupchat message to a room is a bad request.
	c["bob"].Take()
	c["bob"].Send(`<message type="chat" id="m" to="` + room + `"><body>x</body></message>`)
	if got := c["bob"].Take(); len(got) != 1 || !strings.Contains(xml(got[0]), "bad-request") {
		t.Fatalf("chat to room: %d stanzas", len(got))
	}
}

type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) ArchiveRoomMessage(_ context.Context, hostType string, room, sender jid.JID, el *xmlstream.Element) *xmlstream.Element {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, hostType+" "+room.String()+" "+sender.String()+" "+el.Attr("from"))
	return el
}

func TestArchiverOncePerRoom(t *testing.T) {
	h, s := harness(t, nil, nil)
	rec := &recorder{}
	s.SetArchiver(rec)
	c := login(h, "alice", "bob", "carol")
	room := "r@" + svc
	wantOK(t, create(t, c["alice"], room, "bob=member", "carol=member"))
	c["bob"].Take()
	c["carol"].Take()
	c["bob"].Send(`<message type="groupchat" id="m1" to="` + room + `"><body>hi</body></message>`)
	for _, u := range []string{"alice", "bob", "carol"} {
		got := c[u].Take()
		if len(got) != 1 || got[0].Attr("id") != "m1" || got[0].Attr("from") != room+"/bob@a.com" {
			t.Fatalf("%s received %d stanzas", u, len(got))
		}
	}
	want := "muc " + room + " bob@a.com " + room + "/bob@a.com"
	if len(rec.msgs) != 1 || rec.msgs[0] != want {
		t.Fatalf("archived %q, want one %q", rec.msgs, want)
	}
	if _, err := s.History(context.Background(), svc, "r", 10); err == nil {
		t.Fatal("History with an archiver that cannot read: no error")
	}
}

// BenchmarkGroupchat5 measures MUC Light deliveries with 5-member rooms: one message
// in, five deliveries out (b.N messages; deliveries/s reported).
func BenchmarkGroupchat5(b *testing.B) {
	h, _ := harness(b, nil, nil)
	c := login(h, "alice", "bob", "carol", "dave", "eve")
	room := "r@" + svc
	c["alice"].Send(`<iq type="set" id="c" to="` + room + `"><query xmlns="urn:xmpp:muclight:0#create"><occupants>` +
		`<user affiliation="member">bob@a.com</user><user affiliation="member">carol@a.com</user>` +
		`<user affiliation="member">dave@a.com</user><user affiliation="member">eve@a.com</user></occupants></query></iq>`)
	for _, s := range c {
		s.Take()
		s.SetDiscard(true)
	}
	before := c["eve"].Count()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c["bob"].Send(`<message type="groupchat" id="m" to="` + room + `"><body>hello</body></message>`)
	}
	b.StopTimer()
	if got := c["eve"].Count() - before; got != b.N {
		b.Fatalf("eve received %d of %d", got, b.N)
	}
	b.ReportMetric(float64(5*b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
