package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func queryArchive(t *testing.T, db *bolt.DB, q ArchiveQuery) (ArchivePage, error) {
	t.Helper()
	var p ArchivePage
	var err error
	db.View(func(tx *bolt.Tx) error { p, err = QueryArchive(tx, q); return nil })
	return p, err
}

func pageIDs(p ArchivePage) []uint64 {
	var ids []uint64
	for _, m := range p.Messages {
		ids = append(ids, m.ID)
	}
	return ids
}

func fmtIDs(ids []uint64) string { return fmt.Sprint(ids) }

// Paging walks the owner's index and the conversation index in id order, both ways,
// with counts from the counters or the bounded range; ids past 255 keep their order
// (big-endian keys).
func TestArchivePaging(t *testing.T) {
	db := openDB(t)
	var recs []ArchiveRecord
	for i := 1; i <= 300; i++ {
		with := "bob@a.com"
		if i%3 == 0 {
			with = "carol@a.com"
		}
		recs = append(recs, ArchiveRecord{Domain: "a.com", User: "alice", ID: uint64(i) << 8, With: with, XML: fmt.Sprint(i)})
	}
	mustApply(t, db, &ArchiveMessages{Records: recs})
	// A replayed batch archives nothing twice.
	mustApply(t, db, &ArchiveMessages{Records: recs[:10]})
	q := ArchiveQuery{Domain: "a.com", User: "alice", Max: 100}
	p, _ := queryArchive(t, db, q)
	if p.Count != 300 || len(p.Messages) != 100 || p.Complete || p.Messages[0].XML != "1" || p.Messages[99].ID != 100<<8 {
		t.Fatalf("first page: count %d, %d messages, complete %v", p.Count, len(p.Messages), p.Complete)
	}
	q.After = 200 << 8
	p, _ = queryArchive(t, db, q)
	if len(p.Messages) != 100 || !p.Complete || p.Messages[0].ID != 201<<8 {
		t.Fatalf("after 200: %d messages, complete %v", len(p.Messages), p.Complete)
	}
	q.After, q.Last = 0, true
	p, _ = queryArchive(t, db, q)
	if len(p.Messages) != 100 || p.Complete || p.Messages[0].ID != 201<<8 || p.Messages[99].ID != 300<<8 {
		t.Fatalf("last page: %v complete %v", fmtIDs(pageIDs(p)), p.Complete)
	}
	q.Last, q.Before = false, 101<<8
	p, _ = queryArchive(t, db, q)
	if len(p.Messages) != 100 || !p.Complete || p.Messages[0].ID != 1<<8 {
		t.Fatalf("before 101: %d complete %v", len(p.Messages), p.Complete)
	}
	// The conversation index, bounded: messages 3..30 with carol, then 10 of them.
	p, _ = queryArchive(t, db, ArchiveQuery{Domain: "a.com", User: "alice", With: "carol@a.com", From: 3 << 8, To: 30 << 8, Max: 5})
	if p.Count != 10 || fmtIDs(pageIDs(p)) != fmtIDs([]uint64{3 << 8, 6 << 8, 9 << 8, 12 << 8, 15 << 8}) || p.Complete {
		t.Fatalf("with carol: count %d %v", p.Count, pageIDs(p))
	}
	p, _ = queryArchive(t, db, ArchiveQuery{Domain: "a.com", User: "alice", IDs: []uint64{9 << 8, 3 << 8, 4 << 8, 999}, Max: 50})
	if fmtIDs(pageIDs(p)) != fmtIDs([]uint64{3 << 8, 4 << 8, 9 << 8}) {
		t.Fatalf("ids: %v", pageIDs(p))
	}
	if _, err := queryArchive(t, db, ArchiveQuery{Domain: "a.com", User: "alice", After: 7, Max: 5}); !errors.Is(err, ErrMAMNotFound) {
		t.Fatalf("unknown after id: %v", err)
	}
	var first, last uint64
	db.View(func(tx *bolt.Tx) error { first, last, _ = ArchiveBounds(tx, "a.com", "alice"); return nil })
	if first != 1<<8 || last != 300<<8 {
		t.Fatalf("bounds %d %d", first, last)
	}
	mustApply(t, db, &SetMAMPrefs{Domain: "a.com", User: "alice", Prefs: MAMPrefs{Default: "roster", Never: []string{"x@a.com"}}})
	// Chunked removal: the last chunk empties the counters and the preferences.
	mustApply(t, db, &RemoveArchive{Domain: "a.com", User: "alice", Limit: 250})
	db.View(func(tx *bolt.Tx) error {
		if n := ArchiveCount(tx, "a.com", "alice", ""); n != 50 {
			t.Errorf("after a chunk: %d", n)
		}
		return nil
	})
	mustApply(t, db, &RemoveArchive{Domain: "a.com", User: "alice", Limit: 250})
	db.View(func(tx *bolt.Tx) error {
		if n := ArchiveCount(tx, "a.com", "alice", "carol@a.com"); n != 0 {
			t.Errorf("carol count %d", n)
		}
		if _, ok := GetMAMPrefs(tx, "a.com", "alice"); ok {
			t.Error("preferences survived the archive")
		}
		for _, b := range [][]byte{bucketMAM, bucketMAMWith, bucketMAMMeta} {
			if k, _ := tx.Bucket(b).Cursor().First(); k != nil {
				t.Errorf("%s left %q", b, k)
			}
		}
		return nil
	})
}

func TestMAMPrefsRoundTrip(t *testing.T) {
	db := openDB(t)
	want := MAMPrefs{Default: "never", Always: []string{"a@b.c", "d@e.f"}, Never: []string{"g@h.i"}}
	mustApply(t, db, &SetMAMPrefs{Domain: "a.com", User: "u", Prefs: want})
	if _, err := apply(t, db, &SetMAMPrefs{Domain: "a.com", User: "u", Prefs: MAMPrefs{Default: "sometimes"}}); err == nil {
		t.Fatal("invalid default accepted")
	}
	db.View(func(tx *bolt.Tx) error {
		got, ok := GetMAMPrefs(tx, "a.com", "u")
		if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("got %v", got)
		}
		return nil
	})
}

// BenchmarkArchiveQuery1M times the lookup of a page of 50 (the last page, as a
// client syncing history asks first, and a page in the middle with a "with" filter)
// in a 1,000,000-message archive shared by 10 conversations.
func BenchmarkArchiveQuery1M(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "s.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(Init); err != nil {
		b.Fatal(err)
	}
	const total, chunk = 1_000_000, 100_000
	for start := 0; start < total; start += chunk {
		recs := make([]ArchiveRecord, chunk)
		for i := range recs {
			n := start + i + 1
			recs[i] = ArchiveRecord{Domain: "a.com", User: "alice", ID: uint64(n) << 8,
				With: fmt.Sprintf("u%d@a.com", n%10), XML: `<message xmlns="jabber:client" type="chat"><body>message body of typical length</body></message>`}
		}
		if err := db.Update(func(tx *bolt.Tx) error { _, err := (&ArchiveMessages{Records: recs}).Apply(tx); return err }); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		q    ArchiveQuery
	}{
		{"last", ArchiveQuery{Domain: "a.com", User: "alice", Last: true, Max: 50}},
		{"with-after", ArchiveQuery{Domain: "a.com", User: "alice", With: "u3@a.com", After: 500_003 << 8, Max: 50}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				var p ArchivePage
				if err := db.View(func(tx *bolt.Tx) error { var err error; p, err = QueryArchive(tx, c.q); return err }); err != nil || len(p.Messages) != 50 {
					b.Fatalf("%d messages, %v", len(p.Messages), err)
				}
			}
		})
	}
}
