package roster

import (
	"strings"
	"testing"

	"github.com/mongoose-go/mongoose-go/store"
)

// The nine states of RFC 6121 Appendix A.1.
var states = map[string]store.RosterItem{
	"None":       {},
	"None+PO":    {PendingOut: true},
	"None+PI":    {PendingIn: true},
	"None+PO+PI": {PendingOut: true, PendingIn: true},
	"To":         {Sub: store.SubTo},
	"To+PI":      {Sub: store.SubTo, PendingIn: true},
	"From":       {Sub: store.SubFrom},
	"From+PO":    {Sub: store.SubFrom, PendingOut: true},
	"Both":       {Sub: store.SubBoth},
}

func stateName(it store.RosterItem) string {
	n := map[store.Subscription]string{store.SubNone: "None", store.SubTo: "To", store.SubFrom: "From", store.SubBoth: "Both"}[it.Sub]
	if it.PendingOut {
		n += "+PO"
	}
	if it.PendingIn {
		n += "+PI"
	}
	return n
}

// transitions lists, per existing state, "NEW STATE yes|no" as the tables of Appendix
// A read ("yes": route for A.2, deliver for A.3).
type table map[string]string

func checkTable(t *testing.T, name string, tab table, step func(store.RosterItem) (store.RosterItem, bool)) {
	t.Helper()
	if len(tab) != len(states) {
		t.Fatalf("%s: table has %d rows", name, len(tab))
	}
	for from, want := range tab {
		wantState, wantFlag, _ := strings.Cut(want, " ")
		next, flag := step(states[from])
		got := stateName(next)
		if got != wantState || flag != (wantFlag == "yes") {
			t.Errorf("%s from %s: got %s %v, want %s", name, from, got, flag, want)
		}
	}
}

func TestOutboundTables(t *testing.T) {
	out := func(typ string) func(store.RosterItem) (store.RosterItem, bool) {
		return func(it store.RosterItem) (store.RosterItem, bool) { return outbound(it, typ) }
	}
	// A.2.1
	checkTable(t, "outbound subscribe", table{
		"None": "None+PO yes", "None+PO": "None+PO yes", "None+PI": "None+PO+PI yes",
		"None+PO+PI": "None+PO+PI yes", "To": "To yes", "To+PI": "To+PI yes",
		"From": "From+PO yes", "From+PO": "From+PO yes", "Both": "Both yes",
	}, out(typeSubscribe))
	// A.2.2
	checkTable(t, "outbound unsubscribe", table{
		"None": "None yes", "None+PO": "None yes", "None+PI": "None+PI yes",
		"None+PO+PI": "None+PI yes", "To": "None yes", "To+PI": "None+PI yes",
		"From": "From yes", "From+PO": "From yes", "Both": "From yes",
	}, out(typeUnsubscribe))
	// A.2.3
	checkTable(t, "outbound subscribed", table{
		"None": "None no", "None+PO": "None+PO no", "None+PI": "From yes",
		"None+PO+PI": "From+PO yes", "To": "To no", "To+PI": "Both yes",
		"From": "From no", "From+PO": "From+PO no", "Both": "Both no",
	}, out(typeSubscribed))
	// A.2.4
	checkTable(t, "outbound unsubscribed", table{
		"None": "None no", "None+PO": "None+PO no", "None+PI": "None yes",
		"None+PO+PI": "None+PO yes", "To": "To no", "To+PI": "To yes",
		"From": "None yes", "From+PO": "None+PO yes", "Both": "To yes",
	}, out(typeUnsubscribed))
}

func TestInboundTables(t *testing.T) {
	in := func(typ string) func(store.RosterItem) (store.RosterItem, bool) {
		return func(it store.RosterItem) (store.RosterItem, bool) {
			next, deliver, _ := inbound(it, typ, "<presence/>")
			return next, deliver
		}
	}
	// A.3.1
	checkTable(t, "inbound subscribe", table{
		"None": "None+PI yes", "None+PO": "None+PO+PI yes", "None+PI": "None+PI no",
		"None+PO+PI": "None+PO+PI no", "To": "To+PI yes", "To+PI": "To+PI no",
		"From": "From no", "From+PO": "From+PO no", "Both": "Both no",
	}, in(typeSubscribe))
	// A.3.2
	checkTable(t, "inbound unsubscribe", table{
		"None": "None no", "None+PO": "None+PO no", "None+PI": "None yes",
		"None+PO+PI": "None+PO yes", "To": "To no", "To+PI": "To yes",
		"From": "None yes", "From+PO": "None+PO yes", "Both": "To yes",
	}, in(typeUnsubscribe))
	// A.3.3
	checkTable(t, "inbound subscribed", table{
		"None": "None no", "None+PO": "To yes", "None+PI": "None+PI no",
		"None+PO+PI": "To+PI yes", "To": "To no", "To+PI": "To+PI no",
		"From": "From no", "From+PO": "Both yes", "Both": "Both no",
	}, in(typeSubscribed))
	// A.3.4
	checkTable(t, "inbound unsubscribed", table{
		"None": "None no", "None+PO": "None yes", "None+PI": "None+PI no",
		"None+PO+PI": "None+PI yes", "To": "None yes", "To+PI": "None+PI yes",
		"From": "From no", "From+PO": "From yes", "Both": "From yes",
	}, in(typeUnsubscribed))
}

func TestAutoRepliesAndPreApproval(t *testing.T) {
	// Section 3.1.3: a subscribe from a contact already subscribed is answered by the
	// server with subscribed and not delivered.
	for _, st := range []string{"From", "From+PO", "Both"} {
		next, deliver, reply := inbound(states[st], typeSubscribe, "r")
		if deliver || reply != typeSubscribed || stateName(next) != st {
			t.Errorf("subscribe in %s: %s deliver=%v reply=%q", st, stateName(next), deliver, reply)
		}
	}
	// Section 3.4: subscribed without a request pre-approves, which an unsubscribed
	// cancels; a pre-approved subscribe is approved at once.
	for st, after := range map[string]string{"None": "From", "None+PO": "From+PO", "To": "Both"} {
		pre, route := outbound(states[st], typeSubscribed)
		if route || !pre.Approved {
			t.Fatalf("pre-approval in %s: route=%v approved=%v", st, route, pre.Approved)
		}
		if undone, route := outbound(pre, typeUnsubscribed); route || undone.Approved {
			t.Errorf("cancel pre-approval in %s: route=%v approved=%v", st, route, undone.Approved)
		}
		next, deliver, reply := inbound(pre, typeSubscribe, "r")
		if deliver || reply != typeSubscribed || stateName(next) != after || next.Approved {
			t.Errorf("pre-approved subscribe in %s: %s deliver=%v reply=%q approved=%v", st, stateName(next), deliver, reply, next.Approved)
		}
	}
	// A pending request keeps the stanza for redelivery until answered.
	next, _, _ := inbound(states["None"], typeSubscribe, "<presence type='subscribe'/>")
	if next.Request == "" {
		t.Error("request not kept")
	}
	if answered, _ := outbound(next, typeSubscribed); answered.Request != "" {
		t.Error("request kept after approval")
	}
}

func TestEmptyItemsAreDropped(t *testing.T) {
	// A request that was only pending and got denied leaves nothing behind; an item
	// the user listed stays.
	denied, _ := outbound(store.RosterItem{PendingIn: true, Request: "r"}, typeUnsubscribed)
	if !empty(denied) {
		t.Errorf("denied request kept: %+v", denied)
	}
	listed, _ := outbound(store.RosterItem{PendingIn: true, Listed: true}, typeUnsubscribed)
	if empty(listed) {
		t.Error("listed item dropped")
	}
}
