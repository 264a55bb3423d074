package backup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/raftfsm"
	"github.com/mongoose-go/mongoose-go/store"
)

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// Force replaces the store of a non-empty data dir and deletes its raft dir.
	Force bool
	// Progress is as in Options.
	Progress func(total int64) io.Writer
}

// Restore builds dataDir from the backup file in: it writes dataDir/state.db with the
// applied index reset to 0, and no raft dir, so the node bootstraps a fresh one-node
// cluster holding all the backed-up state when it starts.
//
// The backup is copied and checked in full (size, checksum, bbolt meta pages, schema) in
// a temporary file next to dataDir before anything in dataDir changes: a corrupt backup
// (ErrCorrupt) leaves dataDir as it was. The pages themselves are not walked: the
// checksum proves they are the bytes backup read from a store a node was running on,
// and bbolt's own page walk aborts the process on damage instead of returning an error.
//
// A non-empty dataDir is refused with ErrNotEmpty unless opts.Force; with Force, a node
// running on it gives ErrNodeRunning.
func Restore(in, dataDir string, opts RestoreOptions) (Header, error) {
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return Header{}, fmt.Errorf("backup: %w", err)
	}
	if err := checkTarget(dir, opts.Force); err != nil {
		return Header{}, err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return Header{}, fmt.Errorf("backup: %w", err)
	}
	tmp, err := os.CreateTemp(parent, "."+filepath.Base(dir)+".restore-*")
	if err != nil {
		return Header{}, fmt.Errorf("backup: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // a no-op once renamed into place
	h, err := scan(in, tmp, opts.Progress)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Header{}, err
	}
	if err := prepareStore(in, tmpName); err != nil {
		return Header{}, err
	}

	// Verified: from here on dataDir changes.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Header{}, fmt.Errorf("backup: %w", err)
	}
	if opts.Force {
		// The old raft log goes before the new store arrives: a crash in between
		// leaves the old store with no log, which starts as a new cluster; the other
		// order could replay the old log onto the restored store.
		if err := os.RemoveAll(filepath.Join(dir, raftDir)); err != nil {
			return Header{}, fmt.Errorf("backup: remove old raft dir: %w", err)
		}
	}
	// The restored file is synced and stands alone: an open marker left by the
	// replaced store must not have it set aside at the next start. It goes first,
	// so no crash can leave the marker beside the restored file.
	if err := raftfsm.ForgetMarker(filepath.Join(dir, storeFile)); err != nil {
		return Header{}, err
	}
	if err := install(tmpName, filepath.Join(dir, storeFile)); err != nil {
		return Header{}, err
	}
	if err := raftfsm.SyncDir(dir); err != nil {
		return Header{}, err
	}
	return h, raftfsm.SyncDir(parent)
}

// checkTarget refuses a data dir that is a file, non-empty without force, or in use.
func checkTarget(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backup: data dir: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	if !force {
		return fmt.Errorf("%w: %s", ErrNotEmpty, dir)
	}
	path := filepath.Join(dir, storeFile)
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	db, err := raftfsm.OpenDB(path, true)
	if errors.Is(err, raftfsm.ErrLocked) {
		return fmt.Errorf("%w: stop it before restoring into %s", ErrNodeRunning, dir)
	}
	if err == nil {
		db.Close()
	}
	// Any other error means a broken store, which Force replaces anyway.
	return nil
}

// prepareStore checks the restored bbolt file and resets its applied index, so the file
// agrees with the empty raft log the node will start with.
func prepareStore(in, path string) error {
	db, err := raftfsm.OpenDB(path, true)
	if err != nil {
		return corrupt(in, "store is not a bbolt file: %v", err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		if !isStore(tx) {
			return corrupt(in, "%v", ErrNotStore)
		}
		return nil
	})
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("backup: %w", cerr)
	}
	if err != nil {
		return err
	}
	// Opening read-write also checks the schema version against this binary.
	db, err = raftfsm.OpenDB(path, false)
	if err != nil {
		return fmt.Errorf("backup: restored store: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return store.SetAppliedIndex(tx, 0, 0) })
	if cerr := db.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: reset applied index: %w", err)
	}
	return nil
}

// install renames the verified file into place; when the data dir is another file
// system than its parent (a mount point), it copies it next to dst first.
func install(tmp, dst string) error {
	err := os.Rename(tmp, dst)
	if err == nil || !errors.Is(err, syscall.EXDEV) {
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		return nil
	}
	src, err := os.Open(tmp)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer src.Close()
	near := dst + ".restore"
	if err := raftfsm.WriteFileSync(near, src); err != nil {
		return err
	}
	if err := os.Rename(near, dst); err != nil {
		os.Remove(near)
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
