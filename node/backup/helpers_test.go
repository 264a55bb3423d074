package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/raftfsm"
	"github.com/mongoose-go/mongoose-go/store"
)

// fixture is a small but varied state: enabled and disabled domains, accounts, a
// domain admin password, and a removed account (so the store has freed pages).
func fixture() []store.Mutation {
	return []store.Mutation{
		&store.AddDomain{Name: "a.example", HostType: "type1"},
		&store.AddDomain{Name: "b.example", HostType: "type2"},
		&store.AddDomain{Name: "c.example", HostType: "type1"},
		&store.AddUser{Domain: "a.example", User: "alice", Creds: "creds-alice"},
		&store.AddUser{Domain: "a.example", User: "bob", Creds: "creds-bob"},
		&store.AddUser{Domain: "b.example", User: "carol", Creds: "creds-carol"},
		&store.AddUser{Domain: "b.example", User: "dave", Creds: "creds-dave"},
		&store.RemoveUser{Domain: "b.example", User: "dave"},
		&store.AddUser{Domain: "static.example", User: "erin", Creds: "creds-erin", Static: true},
		&store.SetDomainPassword{Domain: "a.example", Creds: "admin-a"},
		&store.SetDomainEnabled{Name: "c.example", Enabled: false},
	}
}

// buildStore applies muts through the FSM, as raft would, in batches of three at the
// given term, and returns the last applied index.
func buildStore(t *testing.T, dataDir string, term uint64, muts []store.Mutation) uint64 {
	t.Helper()
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	fsm, err := raftfsm.Open(filepath.Join(dataDir, storeFile), raftfsm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fsm.Close()
	start, _ := fsm.AppliedIndex()
	var logs []*raft.Log
	for i, m := range muts {
		data, err := raftfsm.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, &raft.Log{Index: start + uint64(i) + 1, Term: term, Type: raft.LogCommand, Data: data})
	}
	for len(logs) > 0 {
		n := min(3, len(logs))
		for i, r := range fsm.ApplyBatch(logs[:n]) {
			if res := r.(raftfsm.Result); res.Err != nil {
				t.Fatalf("apply %T: %v", muts[i], res.Err)
			}
		}
		logs = logs[n:]
	}
	idx, _ := fsm.AppliedIndex()
	return idx
}

// state is everything the fixture's mutations can change, read through store.
type state struct {
	Domains   []store.Domain
	Users     map[string]map[string]string // domain -> user -> creds
	Counts    map[string]int
	Passwords map[string]string
}

func readState(t *testing.T, path string) (st state, index, term uint64) {
	t.Helper()
	db, err := raftfsm.OpenDB(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st = state{Users: map[string]map[string]string{}, Counts: map[string]int{}, Passwords: map[string]string{}}
	err = db.View(func(tx *bolt.Tx) error {
		index, term = store.AppliedIndex(tx)
		domains := []string{"static.example"}
		if err := store.ForEachDomain(tx, func(d store.Domain) error {
			st.Domains = append(st.Domains, d)
			domains = append(domains, d.Name)
			return nil
		}); err != nil {
			return err
		}
		for _, d := range domains {
			st.Users[d] = map[string]string{}
			st.Counts[d] = store.UserCount(tx, d)
			if pw, ok := store.DomainPassword(tx, d); ok {
				st.Passwords[d] = pw
			}
			if err := store.ForEachUser(tx, d, func(u string) error {
				st.Users[d][u], _ = store.GetUserCreds(tx, d, u)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, index, term
}

func wantState() state {
	return state{
		Domains: []store.Domain{
			{Name: "a.example", HostType: "type1", Status: store.StatusEnabled, Incarnation: 1},
			{Name: "b.example", HostType: "type2", Status: store.StatusEnabled, Incarnation: 2},
			{Name: "c.example", HostType: "type1", Status: store.StatusDisabled, Incarnation: 3},
		},
		Users: map[string]map[string]string{
			"a.example":      {"alice": "creds-alice", "bob": "creds-bob"},
			"b.example":      {"carol": "creds-carol"},
			"c.example":      {},
			"static.example": {"erin": "creds-erin"},
		},
		Counts:    map[string]int{"a.example": 2, "b.example": 1, "c.example": 0, "static.example": 1},
		Passwords: map[string]string{"a.example": "admin-a"},
	}
}

func checkState(t *testing.T, path string) {
	t.Helper()
	got, _, _ := readState(t, path)
	if want := wantState(); !reflect.DeepEqual(got, want) {
		t.Fatalf("state of %s:\n got  %+v\n want %+v", path, got, want)
	}
}

// tree fingerprints every file and dir under root, to prove a failed operation left
// it as it was.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			m[rel] = "dir"
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func checkTree(t *testing.T, root string, before map[string]string) {
	t.Helper()
	if after := tree(t, root); !reflect.DeepEqual(before, after) {
		t.Fatalf("%s changed:\n before %v\n after  %v", root, before, after)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// backupOf builds the fixture store in a new data dir and backs it up.
func backupOf(t *testing.T) (out string, h Header) {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	buildStore(t, data, 3, fixture())
	out = filepath.Join(dir, "state.bak")
	h, err := Write(data, out, Options{Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	return out, h
}

// craft writes a backup file with a valid checksum around any header and body.
func craft(t *testing.T, h Header, body []byte) string {
	t.Helper()
	prefix, err := encodePrefix(h)
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.New()
	hash.Write(prefix)
	hash.Write(body)
	b := append(append(prefix, body...), trailerMagic...)
	b = append(b, hash.Sum(nil)...)
	path := filepath.Join(t.TempDir(), "crafted.bak")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
