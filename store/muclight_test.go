package store

import (
	"errors"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func mucRoom(ver string, affs ...string) MUCLightRoom {
	r := MUCLightRoom{Version: ver, Config: []MUCLightField{{Name: "roomname", Value: "R"}}}
	for _, a := range affs {
		r.Affs = append(r.Affs, MUCLightAff{User: a, Aff: "member"})
	}
	return r
}

// TestMUCLightRooms: create, compare-and-set updates, the user -> rooms index,
// rooms_per_user, blocking, delete, and purge with the domain.
func TestMUCLightRooms(t *testing.T) {
	db := openDB(t)
	for _, d := range []string{"a.com", "b.com"} {
		mustApply(t, db, &AddDomain{Name: d, HostType: "basic"})
	}
	mustApply(t, db, &PutMUCLightRoom{Domain: "a.com", Room: "r1", Create: true, State: mucRoom("v1", "alice@a.com", "bob@a.com")})
	if _, err := apply(t, db, &PutMUCLightRoom{Domain: "a.com", Room: "r1", Create: true, State: mucRoom("v9")}); !errors.Is(err, ErrMUCLightRoomExists) {
		t.Errorf("create twice: %v", err)
	}
	// A writer that read an old version loses.
	mustApply(t, db, &PutMUCLightRoom{Domain: "a.com", Room: "r1", PrevVersion: "v1", State: mucRoom("v2", "alice@a.com", "carol@x.org")})
	if _, err := apply(t, db, &PutMUCLightRoom{Domain: "a.com", Room: "r1", PrevVersion: "v1", State: mucRoom("v3", "alice@a.com")}); !errors.Is(err, ErrMUCLightConflict) {
		t.Errorf("stale write: %v", err)
	}
	if _, err := apply(t, db, &PutMUCLightRoom{Domain: "a.com", Room: "nope", PrevVersion: "v1", State: mucRoom("v3")}); !errors.Is(err, ErrMUCLightRoomNotFound) {
		t.Errorf("update of a missing room: %v", err)
	}
	// rooms_per_user 1: carol is in r1 already, so r2 may not take her, and nothing is written.
	if _, err := apply(t, db, &PutMUCLightRoom{Domain: "a.com", Room: "r2", Create: true, RoomsPerUser: 1, State: mucRoom("w1", "dave@a.com", "carol@x.org")}); !errors.Is(err, ErrMUCLightTooManyRooms) {
		t.Errorf("rooms_per_user: %v", err)
	}
	mustApply(t, db, &PutMUCLightRoom{Domain: "a.com", Room: "r2", Create: true, RoomsPerUser: 1, State: mucRoom("w1", "dave@a.com")})
	mustApply(t, db, &PutMUCLightRoom{Domain: "a.com", Room: "r3", Create: true, State: mucRoom("x1", "dave@a.com", "alice@a.com")})
	mustApply(t, db, &PutMUCLightRoom{Domain: "b.com", Room: "r1", Create: true, State: mucRoom("y1", "alice@b.com")})
	mustApply(t, db, &SetMUCLightBlocking{Domain: "a.com", User: "alice@a.com", Block: true, Items: []MUCLightBlockItem{{"room", "r9@muclight.a.com"}, {"user", "eve@a.com"}}})
	if _, err := apply(t, db, &SetMUCLightBlocking{Domain: "a.com", User: "alice@a.com", Block: true, Items: []MUCLightBlockItem{{"group", "x"}}}); err == nil {
		t.Error("bad blocking kind accepted")
	}
	db.View(func(tx *bolt.Tx) error {
		r, ok, err := GetMUCLightRoom(tx, "a.com", "r1")
		if err != nil || !ok || r.Version != "v2" || r.Aff("carol@x.org") != "member" || r.Aff("bob@a.com") != "" {
			t.Errorf("r1 = %+v %v %v", r, ok, err)
		}
		if rooms, total := MUCLightUserRooms(tx, "a.com", "bob@a.com", "", 0); len(rooms) != 0 || total != 0 {
			t.Errorf("bob left r1 but the index has %v", rooms)
		}
		if rooms, total := MUCLightUserRooms(tx, "a.com", "alice@a.com", "", 1); !slices.Equal(rooms, []string{"r1"}) || total != 2 {
			t.Errorf("alice page 1: %v of %d", rooms, total)
		}
		if rooms, _ := MUCLightUserRooms(tx, "a.com", "alice@a.com", "r1", 1); !slices.Equal(rooms, []string{"r3"}) {
			t.Errorf("alice page 2: %v", rooms)
		}
		if l := MUCLightBlocked(tx, "a.com", "alice@a.com"); len(l) != 2 || !MUCLightIsBlocked(tx, "a.com", "alice@a.com", "user", "eve@a.com") {
			t.Errorf("blocking %v", l)
		}
		return nil
	})
	if _, err := apply(t, db, &DeleteMUCLightRoom{Domain: "a.com", Room: "r3", PrevVersion: "old"}); !errors.Is(err, ErrMUCLightConflict) {
		t.Errorf("stale delete: %v", err)
	}
	mustApply(t, db, &DeleteMUCLightRoom{Domain: "a.com", Room: "r3", PrevVersion: "x1"})
	purge(t, db, "a.com")
	db.View(func(tx *bolt.Tx) error {
		for _, room := range []string{"r1", "r2", "r3"} {
			if _, ok, _ := GetMUCLightRoom(tx, "a.com", room); ok {
				t.Errorf("a.com room %s survived the purge", room)
			}
		}
		if _, total := MUCLightUserRooms(tx, "a.com", "dave@a.com", "", 0); total != 0 {
			t.Errorf("index survived the purge: %d", total)
		}
		if len(MUCLightBlocked(tx, "a.com", "alice@a.com")) != 0 {
			t.Error("blocking survived the purge")
		}
		if _, ok, _ := GetMUCLightRoom(tx, "b.com", "r1"); !ok {
			t.Error("b.com's room was purged with a.com")
		}
		return nil
	})
}

func purge(t *testing.T, db *bolt.DB, domain string) {
	t.Helper()
	mustApply(t, db, &MarkDomainDeleting{Name: domain, HostType: "basic"})
	for {
		res := mustApply(t, db, &PurgeDomain{Name: domain, Limit: 3})
		if res.(PurgeResult).Done {
			return
		}
	}
}
