package store

import (
	"errors"
	"reflect"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func rosterFixture(t *testing.T) *bolt.DB {
	t.Helper()
	db := openDB(t)
	mustApply(t, db, &AddDomain{Name: "a.com", HostType: "basic"})
	mustApply(t, db, &AddUser{Domain: "a.com", User: "alice", Creds: "c"})
	mustApply(t, db, &AddUser{Domain: "a.com", User: "bob", Creds: "c"})
	return db
}

func readItem(t *testing.T, db *bolt.DB, user, contact string) (RosterItem, bool) {
	t.Helper()
	var it RosterItem
	var ok bool
	err := db.View(func(tx *bolt.Tx) error {
		var err error
		it, ok, err = GetRosterItem(tx, "a.com", user, contact)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return it, ok
}

func version(t *testing.T, db *bolt.DB, user string) uint64 {
	t.Helper()
	var v uint64
	db.View(func(tx *bolt.Tx) error { v = RosterVersion(tx, "a.com", user); return nil })
	return v
}

func TestRosterItemRoundTrip(t *testing.T) {
	for _, it := range []RosterItem{
		{Contact: "bob@a.com"},
		{Contact: "x", Name: "Bob <the builder>", Groups: []string{"Friends", "", "Работа"}, Sub: SubBoth,
			PendingOut: true, PendingIn: true, Approved: true, Listed: true, Request: "<presence/>", Ver: 1 << 40},
		{Contact: "y", Sub: SubFrom, Groups: []string{}},
	} {
		back, err := decodeRosterItem(it.Contact, encodeRosterItem(it))
		if err != nil {
			t.Fatal(err)
		}
		if len(it.Groups) == 0 {
			it.Groups = nil
		}
		if !reflect.DeepEqual(back, it) {
			t.Errorf("round trip:\n got %+v\nwant %+v", back, it)
		}
	}
	good := encodeRosterItem(RosterItem{Name: "n", Groups: []string{"g"}, Request: "r"})
	for i := range len(good) - 1 {
		if _, err := decodeRosterItem("c", good[:i]); err == nil {
			t.Errorf("truncated to %d bytes decoded", i)
		}
	}
	if _, err := decodeRosterItem("c", append(good, 0)); err == nil {
		t.Error("trailing byte accepted")
	}
}

func TestSetRosterItemVersionsAndConflicts(t *testing.T) {
	db := rosterFixture(t)
	put := func(expect uint64, it RosterItem) error {
		_, err := apply(t, db, &SetRosterItem{Domain: "a.com", User: "alice", ExpectVer: expect, Item: it})
		return err
	}
	if err := put(0, RosterItem{Contact: "bob@a.com", Name: "Bob", Listed: true}); err != nil {
		t.Fatal(err)
	}
	it, ok := readItem(t, db, "alice", "bob@a.com")
	if !ok || it.Ver != 1 || it.Name != "Bob" || version(t, db, "alice") != 1 {
		t.Fatalf("after first put: %+v %v, version %d", it, ok, version(t, db, "alice"))
	}
	// A writer that read nothing (ExpectVer 0) lost the race.
	if err := put(0, RosterItem{Contact: "bob@a.com", Name: "Other"}); !errors.Is(err, ErrRosterConflict) {
		t.Fatalf("stale write: %v", err)
	}
	if err := put(1, RosterItem{Contact: "carol@b.com", Sub: SubTo}); !errors.Is(err, ErrRosterConflict) {
		t.Fatalf("new item with a version expected: %v", err)
	}
	if v := version(t, db, "alice"); v != 1 {
		t.Fatalf("refused writes changed the version to %d", v)
	}
	if err := put(0, RosterItem{Contact: "carol@b.com", Sub: SubTo}); err != nil {
		t.Fatal(err)
	}
	if err := put(1, RosterItem{Contact: "bob@a.com", Name: "Bobby", Sub: SubBoth}); err != nil {
		t.Fatal(err)
	}
	if it, _ := readItem(t, db, "alice", "bob@a.com"); it.Ver != 3 || it.Sub != SubBoth {
		t.Fatalf("bob after update: %+v", it)
	}
	// Other users' versions are their own.
	if v := version(t, db, "bob"); v != 0 {
		t.Errorf("bob's version %d", v)
	}
	// Delete with the right version; a second delete of nothing changes nothing.
	mustApply(t, db, &SetRosterItem{Domain: "a.com", User: "alice", ExpectVer: 3, Delete: true, Item: RosterItem{Contact: "bob@a.com"}})
	if _, ok := readItem(t, db, "alice", "bob@a.com"); ok || version(t, db, "alice") != 4 {
		t.Fatalf("delete: still there %v, version %d", ok, version(t, db, "alice"))
	}
	mustApply(t, db, &SetRosterItem{Domain: "a.com", User: "alice", Delete: true, Item: RosterItem{Contact: "bob@a.com"}})
	if v := version(t, db, "alice"); v != 4 {
		t.Errorf("no-op delete bumped the version to %d", v)
	}
	var got []string
	db.View(func(tx *bolt.Tx) error {
		return ForEachRosterItem(tx, "a.com", "alice", func(it RosterItem) error {
			got = append(got, it.Contact)
			return nil
		})
	})
	if !reflect.DeepEqual(got, []string{"carol@b.com"}) {
		t.Errorf("items = %v", got)
	}
}

func TestSetRosterItemRefusals(t *testing.T) {
	db := rosterFixture(t)
	mustApply(t, db, &AddDomain{Name: "off.com", HostType: "basic"})
	mustApply(t, db, &AddUser{Domain: "off.com", User: "u", Creds: "c"})
	mustApply(t, db, &SetDomainEnabled{Name: "off.com", Enabled: false})
	for _, c := range []struct {
		m    *SetRosterItem
		want error
	}{
		{&SetRosterItem{Domain: "a.com", User: "nobody", Item: RosterItem{Contact: "x@a.com"}}, ErrUserNotFound},
		{&SetRosterItem{Domain: "off.com", User: "u", Item: RosterItem{Contact: "x@a.com"}}, ErrDomainDisabled},
		{&SetRosterItem{Domain: "none.com", User: "u", Item: RosterItem{Contact: "x@a.com"}}, ErrDomainDisabled},
		{&SetRosterItem{Domain: "a.com", User: "alice", Item: RosterItem{Contact: ""}}, ErrBadRosterItem},
		{&SetRosterItem{Domain: "a.com", User: "alice", Item: RosterItem{Contact: "a\x00b"}}, ErrBadRosterItem},
	} {
		if _, err := apply(t, db, c.m); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.m, err, c.want)
		}
	}
	// A static host is not in the domains bucket; the proposer vouches for it.
	mustApply(t, db, &AddUser{Domain: "static.com", User: "s", Creds: "c", Static: true})
	mustApply(t, db, &SetRosterItem{Domain: "static.com", User: "s", Static: true, Item: RosterItem{Contact: "x@a.com"}})
}

func TestRemoveRosterAndDomainPurge(t *testing.T) {
	db := rosterFixture(t)
	mustApply(t, db, &AddDomain{Name: "a.com.x", HostType: "basic"})
	mustApply(t, db, &AddUser{Domain: "a.com.x", User: "alice", Creds: "c"})
	for _, c := range []string{"1@b.com", "2@b.com", "3@b.com"} {
		mustApply(t, db, &SetRosterItem{Domain: "a.com", User: "alice", Item: RosterItem{Contact: c}})
	}
	mustApply(t, db, &SetRosterItem{Domain: "a.com", User: "bob", Item: RosterItem{Contact: "alice@a.com"}})
	mustApply(t, db, &SetRosterItem{Domain: "a.com.x", User: "alice", Item: RosterItem{Contact: "z@b.com"}})

	mustApply(t, db, &RemoveRoster{Domain: "a.com", User: "alice"})
	count := func(domain, user string) int {
		n := 0
		db.View(func(tx *bolt.Tx) error {
			return ForEachRosterItem(tx, domain, user, func(RosterItem) error { n++; return nil })
		})
		return n
	}
	if count("a.com", "alice") != 0 || count("a.com", "bob") != 1 {
		t.Fatalf("after RemoveRoster: alice %d, bob %d", count("a.com", "alice"), count("a.com", "bob"))
	}
	if v := version(t, db, "alice"); v != 4 {
		t.Errorf("version after RemoveRoster = %d, want 4 (kept and bumped)", v)
	}

	mustApply(t, db, &MarkDomainDeleting{Name: "a.com", HostType: "basic"})
	for {
		if mustApply(t, db, &PurgeDomain{Name: "a.com", Limit: 2}).(PurgeResult).Done {
			break
		}
	}
	db.View(func(tx *bolt.Tx) error {
		if HasDomainData(tx, "a.com") {
			t.Error("roster data survived the purge")
		}
		if RosterVersion(tx, "a.com", "alice") != 0 {
			t.Error("roster version survived the purge")
		}
		return nil
	})
	if count("a.com.x", "alice") != 1 {
		t.Error("the purge of a.com touched a.com.x")
	}
}

func TestForEachRosterSubscription(t *testing.T) {
	db := rosterFixture(t)
	for _, it := range []RosterItem{
		{Contact: "b@x", Sub: SubBoth, Name: "B", Groups: []string{"g"}},
		{Contact: "a@x", Sub: SubTo},
		{Contact: "c@x", PendingIn: true, Request: "<presence/>"},
		{Contact: "d@x", Sub: SubFrom, PendingOut: true},
	} {
		mustApply(t, db, &SetRosterItem{Domain: "a.com", User: "alice", Item: it})
	}
	var got []string
	db.View(func(tx *bolt.Tx) error {
		return ForEachRosterSubscription(tx, "a.com", "alice", func(c string, s Subscription) error {
			got = append(got, c+" "+s.String())
			return nil
		})
	})
	if want := []string{"a@x to", "b@x both", "d@x from"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
