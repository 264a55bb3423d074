// Package raftfsm is the raft finite state machine of mongoose-go: it applies committed
// log entries (encoded store mutations) to the node's bbolt file, a whole raft batch in
// one transaction that also records the applied index, and it snapshots and restores
// that file.
package raftfsm

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/mongoose-go/mongoose-go/store"
)

// Result is what raft.ApplyFuture.Response returns for one command: the mutation's
// value and its domain error (duplicate, not found, ...), if any.
type Result struct {
	Value any
	Err   error
}

// Applied describes one mutation after its batch committed; observers use it to update
// in-memory state such as the domain directory.
type Applied struct {
	Index    uint64
	Mutation store.Mutation
	Result   Result
}

// Options configure an FSM.
type Options struct {
	Logger *slog.Logger
	// OnApplied runs after each batch commits, in the FSM goroutine: keep it short.
	OnApplied func([]Applied)
	// OnRestore runs after a snapshot replaced the whole store.
	OnRestore func()
}

// FSM implements raft.BatchingFSM over one bbolt file.
type FSM struct {
	path string
	opts Options

	// mu guards db against Restore swapping the file under readers.
	mu sync.RWMutex
	db *bolt.DB

	// bootID is set when commits skip fsync (durable.go); rebuilt when the file was
	// set aside at open and must be rebuilt from the raft snapshot and log.
	bootID  string
	rebuilt bool
}

var _ raft.BatchingFSM = (*FSM)(nil)

// ErrLocked means another process (a running node) holds the store file.
var ErrLocked = errors.New("raftfsm: store is in use by another process")

// Open opens (creating if needed) the store file at path.
// Where the kernel has a boot id, commits skip fsync: see durable.go for why that
// loses nothing, and for the file set aside when the machine went down with it open
// (Rebuilt then reports true).
func Open(path string, opts Options) (*FSM, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	f := &FSM{path: path, opts: opts}
	id, lazy := bootID()
	if lazy {
		if err := CheckTrusted(path); errors.Is(err, ErrUntrusted) {
			opts.Logger.Warn("the store was open when the machine went down: rebuilding it from the raft log",
				"path", path, "set_aside", path+".untrusted")
			if err := setAside(path); err != nil {
				return nil, err
			}
			f.rebuilt = true
		} else if err != nil {
			return nil, err
		}
	}
	db, err := OpenDB(path, false)
	if err != nil {
		return nil, err
	}
	if lazy {
		if err := writeMarker(path, id); err != nil {
			db.Close()
			return nil, err
		}
		db.NoSync = true
		f.bootID = id
	}
	f.db = db
	return f, nil
}

// Rebuilt reports that Open set an untrusted file aside: the store is empty and raft
// must restore its last snapshot at start, then replay the log after it.
func (f *FSM) Rebuilt() bool { return f.rebuilt }

// OpenDB opens a store file with the options every user of the file must share and
// makes sure its schema is initialised (unless readOnly). A file held by a running node
// gives ErrLocked after a short wait instead of blocking forever.
func OpenDB(path string, readOnly bool) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        500 * time.Millisecond,
		ReadOnly:       readOnly,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("raftfsm: open %s: %w", path, err)
	}
	if readOnly {
		return db, nil
	}
	if err := db.Update(store.Init); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close syncs and closes the store file; after a clean close the file is trusted
// whatever happens to the machine.
func (f *FSM) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bootID == "" {
		return f.db.Close()
	}
	if err := f.db.Sync(); err != nil {
		f.db.Close()
		return fmt.Errorf("raftfsm: sync on close: %w", err)
	}
	if err := f.db.Close(); err != nil {
		return err
	}
	return ForgetMarker(f.path)
}

// View runs fn in a read transaction of the current store.
func (f *FSM) View(fn func(tx *bolt.Tx) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.db.View(fn)
}

// AppliedIndex returns the index and term of the last applied entry.
func (f *FSM) AppliedIndex() (index, term uint64) {
	_ = f.View(func(tx *bolt.Tx) error {
		index, term = store.AppliedIndex(tx)
		return nil
	})
	return index, term
}

// Apply applies a single log entry.
func (f *FSM) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies committed entries in one bbolt transaction: one fsync for the whole
// batch on this node. Entries at or below the stored applied index were applied before a
// restart and are skipped, which is what lets the node start without restoring a
// snapshot and without replaying the whole log.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	results := make([]any, len(logs))
	applied := make([]Applied, 0, len(logs))
	f.mu.RLock()
	db := f.db
	f.mu.RUnlock()
	err := db.Update(func(tx *bolt.Tx) error {
		applied = applied[:0]
		done, _ := store.AppliedIndex(tx)
		var last *raft.Log
		for i, l := range logs {
			if l.Index <= done {
				continue
			}
			last = l
			if l.Type != raft.LogCommand {
				continue
			}
			m, err := Decode(l.Data)
			if err != nil {
				// Skipping an entry would let this node's state diverge for ever.
				panic(fmt.Sprintf("raftfsm: entry %d: %v", l.Index, err))
			}
			if m == nil {
				continue
			}
			v, err := m.Apply(tx)
			var ce *store.CodeError
			if err != nil && !errors.As(err, &ce) {
				return fmt.Errorf("entry %d (%T): %w", l.Index, m, err)
			}
			results[i] = Result{Value: v, Err: err}
			applied = append(applied, Applied{Index: l.Index, Mutation: m, Result: results[i].(Result)})
		}
		if last == nil {
			return nil
		}
		return store.SetAppliedIndex(tx, last.Index, last.Term)
	})
	if err != nil {
		// A failed write transaction means the disk is failing or full; carrying on
		// would acknowledge writes that were never stored.
		panic(fmt.Sprintf("raftfsm: apply batch: %v", err))
	}
	if f.opts.OnApplied != nil && len(applied) > 0 {
		f.opts.OnApplied(applied)
	}
	return results
}

// Snapshot starts a read transaction; Persist streams the file from it while writes go on.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	tx, err := f.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("raftfsm: snapshot: %w", err)
	}
	return &snapshot{tx: tx}, nil
}

type snapshot struct {
	tx *bolt.Tx
}

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.tx.WriteTo(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("raftfsm: persist snapshot: %w", err)
	}
	return sink.Close()
}

func (s *snapshot) Release() { _ = s.tx.Rollback() }

// Restore replaces the store with a snapshot: the stream is written to a temporary
// file, checked, then renamed over the live file, so a broken stream leaves the old
// store intact.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	tmp := f.path + ".restore"
	if err := WriteFileSync(tmp, rc); err != nil {
		return err
	}
	check, err := OpenDB(tmp, false)
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("raftfsm: restore: snapshot is not a store: %w", err)
	}
	check.Close()

	f.mu.Lock()
	if err := f.db.Close(); err != nil {
		f.mu.Unlock()
		return fmt.Errorf("raftfsm: restore: close: %w", err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		f.mu.Unlock()
		return fmt.Errorf("raftfsm: restore: rename: %w", err)
	}
	db, err := OpenDB(f.path, false)
	if err != nil {
		f.mu.Unlock()
		return fmt.Errorf("raftfsm: restore: reopen: %w", err)
	}
	db.NoSync = f.bootID != ""
	f.db = db
	f.mu.Unlock()
	f.opts.Logger.Info("store restored from snapshot", "path", f.path)
	if f.opts.OnRestore != nil {
		f.opts.OnRestore()
	}
	return nil
}

// WriteFileSync copies r into a new file at path and fsyncs it.
func WriteFileSync(path string, r io.Reader) error {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("raftfsm: create %s: %w", path, err)
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		os.Remove(path)
		return fmt.Errorf("raftfsm: write %s: %w", path, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(path)
		return fmt.Errorf("raftfsm: sync %s: %w", path, err)
	}
	return out.Close()
}

// ResetAppliedIndex forgets the applied index while keeping the data. A node whose raft
// state is empty (a new cluster, or a data dir built by restore) starts a new log at
// index 1, and entries at or below a stale applied index would be skipped.
func (f *FSM) ResetAppliedIndex() error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.db.Update(func(tx *bolt.Tx) error { return store.SetAppliedIndex(tx, 0, 0) })
}
