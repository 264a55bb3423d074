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
	// Every bucket but the registry's own is some step's: a bucket nobody purges would
	// survive a domain removal.
	var covered [][]byte
	for _, s := range steps {
		p, _ := purgerNamed(s)
		covered = append(covered, p.buckets...)
	}
	for _, b := range allBuckets() {
		own := string(b) == string(bucketMeta) || string(b) == string(bucketDomains) || string(b) == string(bucketDomainAdmins)
		if !own && !slices.ContainsFunc(covered, func(c []byte) bool { return string(c) == string(b) }) {
			t.Errorf("bucket %s has no purge step", b)
		}
	}
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
