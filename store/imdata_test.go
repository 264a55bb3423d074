package store

import (
	"errors"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestIMDataAndPurge: vCards, private XML, last activity and block lists are written,
// read back, refused whole when invalid, and purged with their domain.
func TestIMDataAndPurge(t *testing.T) {
	db := openDB(t)
	for _, d := range []string{"a.com", "b.com"} {
		mustApply(t, db, &AddDomain{Name: d, HostType: "basic"})
		mustApply(t, db, &SetVCard{Domain: d, User: "alice", XML: "<vCard xmlns='vcard-temp'/>"})
		mustApply(t, db, &SetPrivate{Domain: d, User: "alice", Entries: []PrivateEntry{{NS: "ex:a", XML: "<a xmlns='ex:a'/>"}}})
		mustApply(t, db, &SetLast{Domain: d, User: "alice", Time: 1700000000, Status: "bye"})
		mustApply(t, db, &SetBlocked{Domain: d, User: "alice", Block: true, JIDs: []string{"bob@x", "x"}})
	}
	if _, err := apply(t, db, &SetVCard{Domain: "a.com", User: "alice", XML: strings.Repeat("x", MaxVCardSize+1)}); !errors.Is(err, ErrVCardTooLarge) {
		t.Errorf("big vCard: %v", err)
	}
	// One oversized entry refuses the whole set: the valid one is not written.
	_, err := apply(t, db, &SetPrivate{Domain: "a.com", User: "alice", Entries: []PrivateEntry{
		{NS: "ex:b", XML: "<b xmlns='ex:b'/>"}, {NS: "ex:c", XML: strings.Repeat("x", MaxPrivateSize+1)}}})
	if !errors.Is(err, ErrPrivateTooLarge) {
		t.Errorf("big private: %v", err)
	}
	mustApply(t, db, &SetBlocked{Domain: "a.com", User: "alice", JIDs: []string{"x"}})
	db.View(func(tx *bolt.Tx) error {
		if v := GetVCard(tx, "a.com", "alice"); v != "<vCard xmlns='vcard-temp'/>" {
			t.Errorf("vCard %q", v)
		}
		if v := GetPrivate(tx, "a.com", "alice", "ex:b"); v != "" {
			t.Errorf("refused set wrote %q", v)
		}
		if la, ok := GetLast(tx, "a.com", "alice"); !ok || la != (LastActivity{1700000000, "bye"}) {
			t.Errorf("last %+v %v", la, ok)
		}
		if l := Blocklist(tx, "a.com", "alice"); !slices.Equal(l, []string{"bob@x"}) {
			t.Errorf("block list %v", l)
		}
		if !HasBlocklist(tx, "a.com", "alice") || HasBlocklist(tx, "a.com", "bob") {
			t.Error("HasBlocklist")
		}
		if !IsBlocked(tx, "a.com", "alice", "nobody", "bob@x") || IsBlocked(tx, "a.com", "alice", "x") {
			t.Error("IsBlocked")
		}
		return nil
	})
	mustApply(t, db, &SetBlocked{Domain: "b.com", User: "alice"}) // unblock all
	mustApply(t, db, &SetPrivate{Domain: "b.com", User: "bob", Entries: []PrivateEntry{{NS: "ex:a", XML: "<a xmlns='ex:a'/>"}}})
	mustApply(t, db, &SetBlocked{Domain: "b.com", User: "bob", Block: true, JIDs: []string{"x"}})
	mustApply(t, db, &SetVCard{Domain: "b.com", User: "bob", XML: "<vCard xmlns='vcard-temp'/>"})
	mustApply(t, db, &RemoveUserData{Domain: "b.com", User: "bob"})
	db.View(func(tx *bolt.Tx) error {
		if GetVCard(tx, "b.com", "bob") != "" || GetPrivate(tx, "b.com", "bob", "ex:a") != "" || len(Blocklist(tx, "b.com", "bob")) != 0 {
			t.Error("bob's data survived his removal")
		}
		if GetVCard(tx, "b.com", "alice") == "" {
			t.Error("alice's vCard went with bob")
		}
		return nil
	})
	mustApply(t, db, &MarkDomainDeleting{Name: "a.com", HostType: "basic"})
	// Nothing is written for a domain being removed (or unknown, unless static): the
	// purge must not race a late write.
	for _, m := range []Mutation{
		&SetLast{Domain: "a.com", User: "alice", Time: 1},
		&SetVCard{Domain: "a.com", User: "alice", XML: "<vCard xmlns='vcard-temp'/>"},
		&SetPrivate{Domain: "c.com", User: "alice", Entries: []PrivateEntry{{NS: "ex:a", XML: "<a/>"}}},
		&SetBlocked{Domain: "c.com", User: "alice", Block: true, JIDs: []string{"x"}},
	} {
		if _, err := apply(t, db, m); !errors.Is(err, ErrDomainDisabled) {
			t.Errorf("%T on a domain out of service: %v", m, err)
		}
	}
	mustApply(t, db, &SetVCard{Domain: "static.com", User: "alice", XML: "<vCard xmlns='vcard-temp'/>", Static: true})
	mustApply(t, db, &PurgeDomain{Name: "a.com"})
	db.View(func(tx *bolt.Tx) error {
		_, lastA := GetLast(tx, "a.com", "alice")
		if GetVCard(tx, "a.com", "alice") != "" || GetPrivate(tx, "a.com", "alice", "ex:a") != "" || lastA || len(Blocklist(tx, "a.com", "alice")) != 0 {
			t.Error("a.com data survived the purge")
		}
		_, lastB := GetLast(tx, "b.com", "alice")
		if GetVCard(tx, "b.com", "alice") == "" || GetPrivate(tx, "b.com", "alice", "ex:a") == "" || !lastB {
			t.Error("b.com data purged with a.com")
		}
		if l := Blocklist(tx, "b.com", "alice"); len(l) != 0 {
			t.Errorf("unblock all left %v", l)
		}
		return nil
	})
}
