package store

import (
	"errors"
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func offlineQueue(t *testing.T, db *bolt.DB, domain, user string) ([]string, int) {
	t.Helper()
	var xs []string
	var n int
	db.View(func(tx *bolt.Tx) error {
		for _, m := range OfflineMessages(tx, domain, user) {
			xs = append(xs, m.XML)
		}
		n = OfflineCount(tx, domain, user)
		return nil
	})
	return xs, n
}

// Queues keep arrival order past 255 (big-endian keys), the limit refuses a whole
// batch without writing any of it, and deletion takes only what a reader saw.
func TestOfflineQueue(t *testing.T) {
	db := openDB(t)
	var recs []OfflineRecord
	for i := range 300 {
		recs = append(recs, OfflineRecord{Domain: "a.com", User: "bob", XML: fmt.Sprint(i), Limit: 300})
	}
	mustApply(t, db, &StoreOffline{Records: recs[:200]})
	mustApply(t, db, &StoreOffline{Records: recs[200:]})
	xs, n := offlineQueue(t, db, "a.com", "bob")
	if n != 300 || len(xs) != 300 {
		t.Fatalf("count %d, %d messages", n, len(xs))
	}
	for i, x := range xs {
		if x != fmt.Sprint(i) {
			t.Fatalf("message %d is %q", i, x)
		}
	}
	// Full: a batch with one record too many writes nothing, not even the
	// other user's record in it.
	_, err := apply(t, db, &StoreOffline{Records: []OfflineRecord{
		{Domain: "a.com", User: "carol", XML: "c", Limit: 10},
		{Domain: "a.com", User: "bob", XML: "x", Limit: 300},
	}})
	if !errors.Is(err, ErrOfflineFull) {
		t.Fatalf("over the limit: %v", err)
	}
	if xs, _ := offlineQueue(t, db, "a.com", "carol"); len(xs) != 0 {
		t.Fatal("a refused batch wrote a record")
	}
	var upto uint64
	db.View(func(tx *bolt.Tx) error { upto = OfflineMessages(tx, "a.com", "bob")[99].Seq; return nil })
	mustApply(t, db, &DeleteOffline{Domain: "a.com", User: "bob", Upto: upto})
	xs, n = offlineQueue(t, db, "a.com", "bob")
	if n != 200 || xs[0] != "100" {
		t.Fatalf("after delete: count %d, first %q", n, xs[0])
	}
	// Sequence numbers continue after a delete: new messages go last.
	mustApply(t, db, &StoreOffline{Records: []OfflineRecord{{Domain: "a.com", User: "bob", XML: "new", Limit: 300}}})
	if xs, _ := offlineQueue(t, db, "a.com", "bob"); xs[len(xs)-1] != "new" {
		t.Fatalf("last %q", xs[len(xs)-1])
	}
	// The last sequence number, from the meta record, is the last message's; an
	// emptied queue has none.
	db.View(func(tx *bolt.Tx) error {
		msgs := OfflineMessages(tx, "a.com", "bob")
		if got := OfflineLastSeq(tx, "a.com", "bob"); got != msgs[len(msgs)-1].Seq {
			t.Errorf("OfflineLastSeq %d, last message %d", got, msgs[len(msgs)-1].Seq)
		}
		upto = msgs[len(msgs)-1].Seq
		return nil
	})
	mustApply(t, db, &DeleteOffline{Domain: "a.com", User: "bob", Upto: upto})
	db.View(func(tx *bolt.Tx) error {
		if got := OfflineLastSeq(tx, "a.com", "bob"); got != 0 {
			t.Errorf("OfflineLastSeq of an empty queue: %d", got)
		}
		return nil
	})
}

func TestOfflinePurgedWithDomain(t *testing.T) {
	db := openDB(t)
	mustApply(t, db, &AddDomain{Name: "a.com", HostType: "basic"})
	mustApply(t, db, &StoreOffline{Records: []OfflineRecord{
		{Domain: "a.com", User: "bob", XML: "1"}, {Domain: "a.com.x", User: "bob", XML: "2"}}})
	mustApply(t, db, &MarkDomainDeleting{Name: "a.com", HostType: "basic"})
	for !mustApply(t, db, &PurgeDomain{Name: "a.com", Limit: 1}).(PurgeResult).Done {
	}
	if xs, n := offlineQueue(t, db, "a.com", "bob"); len(xs) != 0 || n != 0 {
		t.Fatalf("survived the purge: %v %d", xs, n)
	}
	if xs, _ := offlineQueue(t, db, "a.com.x", "bob"); len(xs) != 1 {
		t.Fatal("the purge of a.com touched a.com.x")
	}
}

func TestRemoveUserDataDeletesOfflineQueue(t *testing.T) {
	db := openDB(t)
	mustApply(t, db, &AddDomain{Name: "a.com", HostType: "basic"})
	mustApply(t, db, &StoreOffline{Records: []OfflineRecord{
		{Domain: "a.com", User: "alice", XML: "<message/>", Limit: 10},
		{Domain: "a.com", User: "alice", XML: "<message/>", Limit: 10},
		{Domain: "a.com", User: "alicex", XML: "<message/>", Limit: 10},
	}})
	mustApply(t, db, &RemoveUserData{Domain: "a.com", User: "alice"})
	db.View(func(tx *bolt.Tx) error {
		if n := OfflineCount(tx, "a.com", "alice"); n != 0 {
			t.Errorf("alice's queue has %d messages after removal", n)
		}
		if len(OfflineMessages(tx, "a.com", "alice")) != 0 {
			t.Error("alice's messages survive her removal")
		}
		if n := OfflineCount(tx, "a.com", "alicex"); n != 1 {
			t.Errorf("alicex's queue has %d messages, want 1", n)
		}
		return nil
	})
}

// Removing an account removes its per-user rows in the same transaction.
func TestRemoveUserDeletesItsRows(t *testing.T) {
	db := openDB(t)
	mustApply(t, db, &AddDomain{Name: "a.com", HostType: "basic"})
	mustApply(t, db, &AddUser{Domain: "a.com", User: "alice", Creds: "c"})
	mustApply(t, db, &SetVCard{Domain: "a.com", User: "alice", XML: "<vCard/>"})
	mustApply(t, db, &StoreOffline{Records: []OfflineRecord{{Domain: "a.com", User: "alice", XML: "<message/>", Limit: 10}}})
	mustApply(t, db, &RemoveUser{Domain: "a.com", User: "alice"})
	db.View(func(tx *bolt.Tx) error {
		if GetVCard(tx, "a.com", "alice") != "" || OfflineCount(tx, "a.com", "alice") != 0 {
			t.Error("a removed account's vCard or offline queue survived")
		}
		return nil
	})
}
