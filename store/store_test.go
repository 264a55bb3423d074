package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func openDB(t *testing.T) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Update(Init); err != nil {
		t.Fatal(err)
	}
	return db
}

// apply runs one mutation in its own transaction, rolling back on a domain error as
// a careful Apply must leave nothing behind anyway.
func apply(t *testing.T, db *bolt.DB, m Mutation) (any, error) {
	t.Helper()
	var v any
	var merr error
	err := db.Update(func(tx *bolt.Tx) error {
		v, merr = m.Apply(tx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v, merr
}

func mustApply(t *testing.T, db *bolt.DB, m Mutation) any {
	t.Helper()
	v, err := apply(t, db, m)
	if err != nil {
		t.Fatalf("%T: %v", m, err)
	}
	return v
}

func TestDomainLifecycle(t *testing.T) {
	db := openDB(t)
	steps := []struct {
		m    Mutation
		want error
	}{
		{&AddDomain{Name: "a.com", HostType: "basic"}, nil},
		{&AddDomain{Name: "a.com", HostType: "basic"}, ErrDomainExists},
		{&AddDomain{Name: "a.com", HostType: "advanced"}, ErrDomainExists},
		{&SetDomainEnabled{Name: "a.com", Enabled: false}, nil},
		{&SetDomainEnabled{Name: "a.com", Enabled: false}, nil}, // idempotent
		{&SetDomainEnabled{Name: "b.com", Enabled: true}, ErrDomainNotFound},
		{&MarkDomainDeleting{Name: "a.com", HostType: "advanced"}, ErrWrongHostType},
		{&MarkDomainDeleting{Name: "b.com", HostType: "basic"}, ErrDomainNotFound},
		{&MarkDomainDeleting{Name: "a.com", HostType: "basic"}, nil},
		{&MarkDomainDeleting{Name: "a.com", HostType: "basic"}, nil}, // resumable
		{&SetDomainEnabled{Name: "a.com", Enabled: true}, ErrDomainDeleted},
		{&AddDomain{Name: "a.com", HostType: "basic"}, ErrDomainExists},
		{&PurgeDomain{Name: "a.com"}, nil},
		{&DeleteDomainRow{Name: "a.com"}, nil},
		{&DeleteDomainRow{Name: "a.com"}, ErrDomainNotFound},
		{&AddDomain{Name: "a.com", HostType: "advanced"}, nil}, // re-add after removal
		{&PurgeDomain{Name: "a.com"}, ErrDomainNotDeleting},
	}
	for i, s := range steps {
		_, err := apply(t, db, s.m)
		if !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Fatalf("step %d %T%+v: err = %v, want %v", i, s.m, s.m, err, s.want)
		}
	}
	db.View(func(tx *bolt.Tx) error {
		d, ok := GetDomain(tx, "a.com")
		if !ok || d.HostType != "advanced" || d.Status != StatusEnabled {
			t.Errorf("a.com = %+v", d)
		}
		return nil
	})
}

func TestPurgeIsChunkedAndScoped(t *testing.T) {
	db := openDB(t)
	mustApply(t, db, &AddDomain{Name: "big.com", HostType: "basic"})
	mustApply(t, db, &AddDomain{Name: "big.com.other", HostType: "basic"})
	mustApply(t, db, &AddDomain{Name: "other.com", HostType: "basic"})
	for i := range 25 {
		mustApply(t, db, &AddUser{Domain: "big.com", User: fmt.Sprintf("u%02d", i), Creds: "c"})
	}
	mustApply(t, db, &AddUser{Domain: "other.com", User: "keep", Creds: "c"})
	mustApply(t, db, &AddUser{Domain: "big.com.other", User: "keep", Creds: "c"})
	mustApply(t, db, &MarkDomainDeleting{Name: "big.com", HostType: "basic"})

	if _, err := apply(t, db, &DeleteDomainRow{Name: "big.com"}); !errors.Is(err, ErrDomainHasData) {
		t.Fatalf("row deleted with data left: %v", err)
	}
	chunks := 0
	for {
		res := mustApply(t, db, &PurgeDomain{Name: "big.com", Limit: 10}).(PurgeResult)
		chunks++
		if res.Deleted > 10 {
			t.Fatalf("chunk deleted %d > limit", res.Deleted)
		}
		if res.Done {
			break
		}
	}
	if chunks < 3 {
		t.Errorf("purged 26 keys in %d chunks of 10", chunks)
	}
	mustApply(t, db, &DeleteDomainRow{Name: "big.com"})
	db.View(func(tx *bolt.Tx) error {
		for _, d := range []string{"other.com", "big.com.other"} {
			if _, ok := GetUserCreds(tx, d, "keep"); !ok {
				t.Errorf("purge of big.com removed %s's user", d)
			}
		}
		if UserCount(tx, "big.com") != 0 {
			t.Error("user count survived the purge")
		}
		return nil
	})
}

func TestUsers(t *testing.T) {
	db := openDB(t)
	mustApply(t, db, &AddDomain{Name: "a.com", HostType: "basic"})
	steps := []struct {
		m    Mutation
		want error
	}{
		{&AddUser{Domain: "a.com", User: "alice", Creds: "1", MaxUsers: 2}, nil},
		{&AddUser{Domain: "a.com", User: "alice", Creds: "1"}, ErrUserExists},
		{&AddUser{Domain: "a.com", User: "bob", Creds: "1", MaxUsers: 2}, nil},
		{&AddUser{Domain: "a.com", User: "carol", Creds: "1", MaxUsers: 2}, ErrTooManyUsers},
		{&AddUser{Domain: "nope.com", User: "x", Creds: "1"}, ErrDomainDisabled},
		{&AddUser{Domain: "static.com", User: "x", Creds: "1", Static: true}, nil},
		{&SetUserPassword{Domain: "a.com", User: "alice", Creds: "2"}, nil},
		{&SetUserPassword{Domain: "a.com", User: "zed", Creds: "2"}, ErrUserNotFound},
		{&RemoveUser{Domain: "a.com", User: "bob"}, nil},
		{&RemoveUser{Domain: "a.com", User: "bob"}, ErrUserNotFound},
		{&SetDomainEnabled{Name: "a.com"}, nil},
		{&AddUser{Domain: "a.com", User: "dave", Creds: "1"}, ErrDomainDisabled},
	}
	for i, s := range steps {
		_, err := apply(t, db, s.m)
		if !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Fatalf("step %d %T: err = %v, want %v", i, s.m, err, s.want)
		}
	}
	db.View(func(tx *bolt.Tx) error {
		var users []string
		ForEachUser(tx, "a.com", func(u string) error { users = append(users, u); return nil })
		if fmt.Sprint(users) != "[alice]" || UserCount(tx, "a.com") != 1 {
			t.Errorf("users = %v count %d", users, UserCount(tx, "a.com"))
		}
		if c, _ := GetUserCreds(tx, "a.com", "alice"); c != "2" {
			t.Errorf("alice creds = %q", c)
		}
		return nil
	})
}

func TestDomainPassword(t *testing.T) {
	db := openDB(t)
	mustApply(t, db, &AddDomain{Name: "a.com", HostType: "basic"})
	if _, err := apply(t, db, &SetDomainPassword{Domain: "x.com", Creds: "c"}); !errors.Is(err, ErrDomainDisabled) {
		t.Errorf("unknown domain: %v", err)
	}
	mustApply(t, db, &SetDomainPassword{Domain: "a.com", Creds: "c"})
	mustApply(t, db, &SetDomainPassword{Domain: "localhost", Static: true, Creds: "c"})
	mustApply(t, db, &DeleteDomainPassword{Domain: "a.com"})
	if _, err := apply(t, db, &DeleteDomainPassword{Domain: "a.com"}); !errors.Is(err, ErrDomainPasswordNone) {
		t.Errorf("second delete: %v", err)
	}
	mustApply(t, db, &SetDomainPassword{Domain: "a.com", Creds: "c"})
	mustApply(t, db, &MarkDomainDeleting{Name: "a.com", HostType: "basic"})
	db.View(func(tx *bolt.Tx) error {
		if _, ok := DomainPassword(tx, "a.com"); ok {
			t.Error("removal kept the domain admin password")
		}
		return nil
	})
}

func TestSchemaVersionChecked(t *testing.T) {
	db := openDB(t)
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte{0, 0, 0, 99}) })
	if err := db.Update(Init); !errors.Is(err, ErrSchema) {
		t.Errorf("Init on a future schema: %v", err)
	}
}
