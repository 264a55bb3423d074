package register_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/register"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// accounts is an in-memory register.Accounts with a user limit.
type accounts struct {
	users map[string]string
	max   int
}

func (a *accounts) RegisterUser(_ context.Context, domain, user, pw string) (jid.JID, error) {
	if _, ok := a.users[user]; ok {
		return jid.JID{}, store.ErrUserExists
	}
	if a.max > 0 && len(a.users) >= a.max {
		return jid.JID{}, fmt.Errorf("apply: %w", store.ErrTooManyUsers)
	}
	a.users[user] = pw
	return jid.New(user, domain, "")
}
func (a *accounts) ChangePassword(context.Context, string, string, string) error { return nil }
func (a *accounts) RemoveUser(context.Context, string, string) error             { return nil }

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T, d register.Deps, opts module.Options) *moduletest.Harness {
	h := moduletest.New(t, map[string]string{"a.com": "A"})
	h.Start("A", register.Module(d), opts)
	return h
}

func send(h *moduletest.Harness, ip, user, pw string) string {
	el := xmlstream.NewElement(stanza.NSClient, "iq", xmlstream.Attr{Local: "id", Value: "r"}, xmlstream.Attr{Local: "type", Value: "set"})
	q := xmlstream.NewElement(register.NS, "query")
	for k, v := range map[string]string{"username": user, "password": pw} {
		if v != "" {
			f := xmlstream.NewElement(register.NS, k)
			f.AddText(v)
			q.AddChild(f)
		}
	}
	el.AddChild(q)
	st := module.PreAuthStream{Domain: "a.com", HostType: "A", RemoteAddr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 5}}
	r, ok := h.Host.PreAuthIQ(st, el)
	if !ok || r == nil {
		return "unhandled"
	}
	return moduletest.Summary(r)
}

func TestRateLimitExpires(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	acc := &accounts{users: map[string]string{}}
	h := setup(t, register.Deps{Accounts: acc, Timeout: 600 * time.Second, Now: c.now}, nil)
	if got := send(h, "10.0.0.1", "a", "pw"); got != "iq/result" {
		t.Fatalf("first: %s", got)
	}
	if got := send(h, "10.0.0.1", "b", "pw"); got != "error iq/resource-constraint" {
		t.Fatalf("second: %s", got)
	}
	if got := send(h, "10.0.0.2", "b", "pw"); got != "iq/result" {
		t.Fatalf("other address: %s", got)
	}
	c.t = c.t.Add(599 * time.Second)
	if got := send(h, "10.0.0.1", "c", "pw"); got != "error iq/resource-constraint" {
		t.Fatalf("before the timeout: %s", got)
	}
	c.t = c.t.Add(time.Second)
	if got := send(h, "10.0.0.1", "c", "pw"); got != "iq/result" {
		t.Fatalf("after the timeout: %s", got)
	}
}

func TestErrorsAndLimits(t *testing.T) {
	acc := &accounts{users: map[string]string{"taken": "x"}, max: 2}
	h := setup(t, register.Deps{Accounts: acc}, nil)
	for _, tc := range []struct{ user, pw, want string }{
		{"", "pw", "error iq/not-acceptable"},
		{"u", "", "error iq/not-acceptable"},
		{"a b", "pw", "error iq/bad-request"}, // not a valid localpart
		{"taken", "pw", "error iq/conflict"},
		{"new", "pw", "iq/result"},
		{"more", "pw", "error iq/resource-constraint"}, // max_users_per_domain reached
	} {
		if got := send(h, "10.0.0.1", tc.user, tc.pw); got != tc.want {
			t.Errorf("%q/%q: %s, want %s", tc.user, tc.pw, got, tc.want)
		}
	}
}

func TestAccessAndIPAccess(t *testing.T) {
	acc := &accounts{users: map[string]string{}}
	rules := []register.IPRule{
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Allow: true},
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Allow: false},
	}
	var asked string
	h := setup(t, register.Deps{
		Accounts: acc,
		IPAccess: func(string) []register.IPRule { return rules },
		Access:   func(_, rule string, j jid.JID) bool { asked = rule + " " + j.String(); return j.Local() != "root" },
	}, moduletest.Options{"access": "register"})
	for _, tc := range []struct{ ip, user, want string }{
		{"10.1.2.3", "a", "iq/result"},                // first match allows
		{"10.2.0.1", "b", "error iq/forbidden"},       // second denies
		{"192.168.0.1", "c", "iq/result"},             // no match allows
		{"192.168.0.2", "root", "error iq/forbidden"}, // access rule
	} {
		if got := send(h, tc.ip, tc.user, "pw"); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.ip, tc.user, got, tc.want)
		}
	}
	if asked != "register root@a.com" {
		t.Errorf("access asked %q", asked)
	}
}

func TestPasswordStrength(t *testing.T) {
	h := setup(t, register.Deps{Accounts: &accounts{users: map[string]string{}}}, moduletest.Options{"password_strength": 32})
	if got := send(h, "10.0.0.1", "a", "abcdef"); got != "error iq/not-acceptable" {
		t.Errorf("weak: %s", got)
	}
	if got := send(h, "10.0.0.1", "a", "Abc1!"); got != "iq/result" {
		t.Errorf("strong: %s", got) // 5 * log2(26+26+9+33) = 32.8
	}
}

func TestEntropy(t *testing.T) {
	for pw, want := range map[string]float64{
		"":        0,
		"aaaa":    4 * math.Log2(26),
		"aA1!":    4 * math.Log2(26+26+9+33),
		"ééé":     3 * math.Log2(128),
		"1234567": 7 * math.Log2(9),
	} {
		if got := register.Entropy(pw); math.Abs(got-want) > 1e-9 {
			t.Errorf("Entropy(%q) = %v, want %v", pw, got, want)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.0/8":   "127.0.0.0/8",
		"10.1.2.3/8":    "10.0.0.0/8",
		"192.168.1.1":   "192.168.1.1/32",
		"::1":           "::1/128",
		"2001:db8::/32": "2001:db8::/32",
	} {
		p, err := register.ParsePrefix(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v", in, p, err)
		}
	}
	if _, err := register.ParsePrefix("nope"); err == nil {
		t.Error("bad address accepted")
	}
}
