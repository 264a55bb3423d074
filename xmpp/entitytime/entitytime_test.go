package entitytime

import (
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/router/routertest"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

func query(t *testing.T, now func() time.Time, xml string) *xmlstream.Element {
	t.Helper()
	r, err := router.New(router.Config{Directory: routertest.Directory{"example.com": "t1"}})
	if err != nil {
		t.Fatal(err)
	}
	Register(r, "", now)
	s := routertest.NewSession(t, "alice@example.com/a", "t1")
	if err := r.Bind(s); err != nil {
		t.Fatal(err)
	}
	el := routertest.Parse(t, xml)
	el.SetAttr("from", s.JID().String())
	r.Route(s, el)
	return s.One(t)
}

const get = `<iq to="example.com" type="get" id="t1"><time xmlns="urn:xmpp:time"/></iq>`

func TestTime(t *testing.T) {
	zone := time.FixedZone("IST", 5*3600+30*60)
	now := func() time.Time { return time.Date(2024, 3, 1, 2, 4, 5, 987654321, zone) }
	got := query(t, now, get)
	want := `<iq xmlns="jabber:client" type="result" id="t1" from="example.com" to="alice@example.com/a">` +
		`<time xmlns="urn:xmpp:time"><tzo>+05:30</tzo><utc>2024-02-29T20:34:05Z</utc></time></iq>`
	if got.String() != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestTimeDefaultClock(t *testing.T) {
	before := time.Now().UTC().Truncate(time.Second)
	got := query(t, nil, get)
	after := time.Now().UTC()
	tm := got.Child(stanza.NSTime, "time")
	utc, err := time.Parse(time.RFC3339, tm.Child(stanza.NSTime, "utc").Text())
	if err != nil || utc.Before(before) || utc.After(after) {
		t.Fatalf("utc %v (%v) not between %v and %v", utc, err, before, after)
	}
	if tzo := tm.Child(stanza.NSTime, "tzo").Text(); tzo != Offset(time.Now()) {
		t.Fatalf("tzo %q, want the local offset %q", tzo, Offset(time.Now()))
	}
}

func TestOffset(t *testing.T) {
	for _, c := range []struct {
		secs int
		want string
	}{
		{0, "+00:00"}, {3600, "+01:00"}, {-3 * 3600, "-03:00"}, {-(9*3600 + 30*60), "-09:30"},
		{14 * 3600, "+14:00"}, {-(0*3600 + 17*60 + 30), "-00:17"},
	} {
		if got := Offset(time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("z", c.secs))); got != c.want {
			t.Errorf("Offset(%d s) = %q, want %q", c.secs, got, c.want)
		}
	}
	if got := Offset(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)); got != "+00:00" {
		t.Errorf("Offset(UTC) = %q", got)
	}
}

func TestTimeErrors(t *testing.T) {
	for _, c := range []struct {
		iq   string
		want stanza.Condition
	}{
		{`<iq to="example.com" type="set" id="t"><time xmlns="urn:xmpp:time"/></iq>`, stanza.NotAllowed},
		{`<iq to="example.com" type="get" id="t"><tzo xmlns="urn:xmpp:time"/></iq>`, stanza.BadRequest},
		{`<iq to="bob@example.com" type="get" id="t"><time xmlns="urn:xmpp:time"/></iq>`, stanza.ServiceUnavailable},
	} {
		got := query(t, nil, c.iq)
		if e := got.Child(stanza.NSClient, "error"); got.Attr("type") != "error" || e.Child(stanza.NSStanzas, c.want.Name) == nil {
			t.Errorf("%s: got %s, want %s", c.iq, got, c.want.Name)
		}
	}
}
