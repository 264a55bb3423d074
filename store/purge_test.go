package store

import (
	"errors"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestPurgeStepsAreOrderedAndCoverEveryBucket(t *testing.T) {
	steps := DomainPurgeSteps()
	want := []string{"muc_light", "mam", "offline", "roster", "blocking", "last", "private", "vcard", "accounts"}
	if !slices.Equal(steps, want) {
		t.Errorf("steps = %v, want %v", steps, want)
	}
	// Every bucket of a store file but the registry's own is exactly one step's: a
	// bucket nobody purges would survive a domain removal, one in two steps would
	// be purged by the wrong one.
	owner := map[string]string{}
	for _, s := range steps {
		buckets, _ := stepBuckets(s)
		for _, b := range buckets {
			if o, dup := owner[string(b)]; dup {
				t.Errorf("bucket %s is in steps %s and %s", b, o, s)
			}
			owner[string(b)] = s
		}
	}
	db := openDB(t)
	db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			own := string(name) == string(bucketMeta) || string(name) == string(bucketDomains) || string(name) == string(bucketDomainAdmins)
			if _, ok := owner[string(name)]; !ok && !own {
				t.Errorf("bucket %s has no purge step", name)
			}
			return nil
		})
	})
}

func TestPurgeOneStepLeavesTheOthers(t *testing.T) {
	db := openDB(t)
	mustApply(t, db, &AddDomain{Name: "a.com", HostType: "basic"})
	mustApply(t, db, &AddUser{Domain: "a.com", User: "alice", Creds: "c"})
	mustApply(t, db, &SetVCard{Domain: "a.com", User: "alice", XML: "<vCard xmlns='vcard-temp'/>"})
	mustApply(t, db, &MarkDomainDeleting{Name: "a.com", HostType: "basic"})

	if _, err := apply(t, db, &PurgeDomain{Name: "a.com", Step: "no-such-step"}); !errors.Is(err, ErrUnknownPurgeStep) {
		t.Fatalf("unknown step: %v", err)
	}
	if res := mustApply(t, db, &PurgeDomain{Name: "a.com", Step: "vcard"}).(PurgeResult); !res.Done || res.Deleted != 1 {
		t.Fatalf("vcard step: %+v", res)
	}
	db.View(func(tx *bolt.Tx) error {
		if _, ok := GetUserCreds(tx, "a.com", "alice"); !ok {
			t.Error("the vcard step removed the account")
		}
		if !HasDomainData(tx, "a.com") {
			t.Error("HasDomainData false with an account left")
		}
		return nil
	})
	if _, err := apply(t, db, &DeleteDomainRow{Name: "a.com"}); !errors.Is(err, ErrDomainHasData) {
		t.Fatalf("row deleted with the accounts step not run: %v", err)
	}
	if res := mustApply(t, db, &PurgeDomain{Name: "a.com", Step: "accounts"}).(PurgeResult); !res.Done || res.Deleted != 2 {
		t.Fatalf("accounts step: %+v (want the account and its count)", res)
	}
	mustApply(t, db, &DeleteDomainRow{Name: "a.com"})
}

// Writes that would land on a domain being removed, or on a dynamic domain already
// gone, are dropped (batches) or refused, so the purge never races them and a later
// tenant of the same name starts empty. Static domains have no row and still accept.
func TestNoTenantWritesDuringOrAfterRemoval(t *testing.T) {
	db := openDB(t)
	mustApply(t, db, &AddDomain{Name: "gone.com", HostType: "basic"})
	mustApply(t, db, &AddDomain{Name: "live.com", HostType: "basic"})
	mustApply(t, db, &MarkDomainDeleting{Name: "gone.com", HostType: "basic"})

	mustApply(t, db, &StoreOffline{Records: []OfflineRecord{
		{Domain: "gone.com", User: "a", XML: "<message/>", Dynamic: true},
		{Domain: "live.com", User: "b", XML: "<message/>", Dynamic: true},
		{Domain: "removed.com", User: "c", XML: "<message/>", Dynamic: true},
		{Domain: "static.com", User: "d", XML: "<message/>"},
	}})
	mustApply(t, db, &ArchiveMessages{Records: []ArchiveRecord{
		{Domain: "gone.com", User: "a", ID: 1, With: "b@live.com", XML: "<message/>", Dynamic: true},
		{Domain: "live.com", User: "b", ID: 1, With: "a@gone.com", XML: "<message/>", Dynamic: true},
		{Domain: "removed.com", User: "c", ID: 1, With: "b@live.com", XML: "<message/>", Dynamic: true},
		{Domain: "static.com", User: "d", ID: 1, With: "b@live.com", XML: "<message/>"},
	}})
	if _, err := apply(t, db, &SetMAMPrefs{Domain: "gone.com", User: "a", Prefs: MAMPrefs{Default: "always"}, Dynamic: true}); !errors.Is(err, ErrDomainDisabled) {
		t.Errorf("MAM prefs on a deleting domain: %v", err)
	}
	db.View(func(tx *bolt.Tx) error {
		for _, c := range []struct {
			domain, user string
			want         int
		}{{"gone.com", "a", 0}, {"live.com", "b", 1}, {"removed.com", "c", 0}, {"static.com", "d", 1}} {
			if got := OfflineCount(tx, c.domain, c.user); got != c.want {
				t.Errorf("offline %s@%s = %d, want %d", c.user, c.domain, got, c.want)
			}
			if got := ArchiveCount(tx, c.domain, c.user, ""); got != c.want {
				t.Errorf("archive %s@%s = %d, want %d", c.user, c.domain, got, c.want)
			}
		}
		if HasDomainData(tx, "gone.com") || HasDomainData(tx, "removed.com") {
			t.Error("tenant data written for a removed domain")
		}
		return nil
	})
}

func TestDomainIncarnations(t *testing.T) {
	db := openDB(t)
	get := func(name string) Domain {
		t.Helper()
		var d Domain
		db.View(func(tx *bolt.Tx) error { d, _ = GetDomain(tx, name); return nil })
		return d
	}
	mustApply(t, db, &AddDomain{Name: "a.com", HostType: "basic"})
	mustApply(t, db, &AddDomain{Name: "b.com", HostType: "basic"})
	first := get("a.com")
	if first.Incarnation == 0 || get("b.com").Incarnation == first.Incarnation {
		t.Fatalf("incarnations a=%d b=%d", first.Incarnation, get("b.com").Incarnation)
	}
	mustApply(t, db, &SetDomainEnabled{Name: "a.com", Enabled: false})
	if d := get("a.com"); d.Incarnation != first.Incarnation || d.Status != StatusDisabled || d.HostType != "basic" {
		t.Fatalf("disabling changed the row: %+v", d)
	}
	mustApply(t, db, &MarkDomainDeleting{Name: "a.com", HostType: "basic"})
	for !mustApply(t, db, &PurgeDomain{Name: "a.com"}).(PurgeResult).Done {
	}
	mustApply(t, db, &DeleteDomainRow{Name: "a.com"})
	mustApply(t, db, &AddDomain{Name: "a.com", HostType: "basic"})
	if d := get("a.com"); d.Incarnation <= first.Incarnation {
		t.Fatalf("re-added a.com has incarnation %d, first had %d", d.Incarnation, first.Incarnation)
	}
	// Rows written before incarnations existed: status byte then host type.
	if d := decodeDomain([]byte("old.com"), append([]byte{byte(StatusEnabled)}, "basic"...)); d.Incarnation != 0 || d.HostType != "basic" || d.Status != StatusEnabled {
		t.Fatalf("old row decoded as %+v", d)
	}
}
