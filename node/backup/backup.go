// Package backup takes offline backups of a stopped node's store and restores them into
// a new data dir. A backup is one file: a header (format, node, applied index, size), the
// bbolt store image copied from one read transaction, and a sha256 trailer. The raft log
// is not part of it: a restored data dir starts a fresh one-node cluster.
//
// The package reads the data dir layout of node (state.db, raft/) but does not import
// node, so node can use it for online backups later without an import cycle.
package backup

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/raftfsm"
	"github.com/mongoose-go/mongoose-go/store"
)

// Data dir layout; these names must match node.StoreFile and node.RaftDir (cmd's
// backup test runs both commands on a data dir made by a real node).
const (
	storeFile = "state.db"
	raftDir   = "raft"
)

// Errors callers match with errors.Is.
var (
	// ErrNodeRunning means a process (a running node) holds the store's file lock.
	ErrNodeRunning = errors.New("node is running (state.db is locked)")
	// ErrCorrupt means a backup file is truncated, damaged or not a backup at all.
	ErrCorrupt = errors.New("backup file is corrupt")
	// ErrVersion means a backup was written in a format this binary cannot read.
	ErrVersion = errors.New("unsupported backup format version")
	// ErrNotEmpty means the restore target holds files and Force was not given.
	ErrNotEmpty = errors.New("data dir is not empty")
	// ErrNotStore means a bbolt file is not a mongoose-go store.
	ErrNotStore = errors.New("not a mongoose-go store")
)

// Options configure Write.
type Options struct {
	// Node is recorded in the header; empty means "find it in the raft dir", which
	// works when the last raft configuration has exactly one server.
	Node string
	// Generator is recorded in the header, e.g. "mongoose-go 1.2.3".
	Generator string
	// Progress, when set, is called once the store size is known and returns a writer
	// fed every store byte as it is copied (a progress bar), or nil for none.
	Progress func(total int64) io.Writer
}

// Write copies the store of the stopped node in dataDir into the backup file out. The
// file appears under its name only once complete and synced: it is written to
// out+".tmp" and renamed, so a crash never leaves a partial file named out. A running
// node gives ErrNodeRunning and writes nothing.
func Write(dataDir, out string, opts Options) (Header, error) {
	path := filepath.Join(dataDir, storeFile)
	if _, err := os.Stat(path); err != nil {
		return Header{}, fmt.Errorf("backup: no store in data dir %s: %w", dataDir, err)
	}
	if sameFile(path, out) {
		return Header{}, fmt.Errorf("backup: output %s is the store itself", out)
	}
	// A store left open by a node when the machine went down may be torn; the node
	// rebuilds it from its raft log at its next start.
	if err := raftfsm.CheckTrusted(path); err != nil {
		return Header{}, fmt.Errorf("backup: %w", err)
	}
	// Read-only takes a shared lock, which a running node's exclusive lock refuses;
	// it also leaves the source file exactly as it was.
	db, err := raftfsm.OpenDB(path, true)
	if errors.Is(err, raftfsm.ErrLocked) {
		return Header{}, fmt.Errorf("%w: stop it before taking an offline backup", ErrNodeRunning)
	}
	if err != nil {
		return Header{}, fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	tx, err := db.Begin(false)
	if err != nil {
		return Header{}, fmt.Errorf("backup: %w", err)
	}
	defer tx.Rollback()
	if !isStore(tx) {
		return Header{}, fmt.Errorf("backup: %s: %w", path, ErrNotStore)
	}
	idx, term := store.AppliedIndex(tx)
	h := Header{
		Format:       FormatVersion,
		Node:         opts.Node,
		AppliedIndex: idx,
		AppliedTerm:  term,
		Created:      time.Now().UTC().Truncate(time.Second),
		Size:         tx.Size(),
		Generator:    opts.Generator,
	}
	if h.Node == "" {
		h.Node = nodeFromRaft(filepath.Join(dataDir, raftDir))
	}
	sum, err := writeFile(out, h, tx, progressWriter(opts.Progress, h.Size))
	if err != nil {
		return Header{}, err
	}
	h.Checksum = checksumString(sum)
	return h, nil
}

// writeFile writes the backup to out+".tmp", syncs it and renames it to out.
func writeFile(out string, h Header, tx *bolt.Tx, progress io.Writer) (sum []byte, err error) {
	prefix, err := encodePrefix(h)
	if err != nil {
		return nil, err
	}
	tmp := out + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	hash := sha256.New()
	w := io.MultiWriter(bw, hash)
	if _, err := w.Write(prefix); err != nil {
		return nil, fmt.Errorf("backup: write %s: %w", tmp, err)
	}
	body := w
	if progress != nil {
		body = io.MultiWriter(w, progress)
	}
	n, err := tx.WriteTo(body)
	if err != nil {
		return nil, fmt.Errorf("backup: write %s: %w", tmp, err)
	}
	if n != h.Size {
		return nil, fmt.Errorf("backup: store copy is %d bytes, expected %d", n, h.Size)
	}
	sum = hash.Sum(nil)
	if _, err := bw.WriteString(trailerMagic); err != nil {
		return nil, fmt.Errorf("backup: write %s: %w", tmp, err)
	}
	if _, err := bw.Write(sum); err != nil {
		return nil, fmt.Errorf("backup: write %s: %w", tmp, err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("backup: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("backup: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("backup: close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	// The rename is durable only once the directory entry is.
	if err := raftfsm.SyncDir(filepath.Dir(out)); err != nil {
		return nil, err
	}
	return sum, nil
}

// progressWriter returns the caller's progress writer for a store of size bytes, or nil.
// Its errors are dropped: a progress display must never fail a backup or restore.
func progressWriter(progress func(int64) io.Writer, size int64) io.Writer {
	if progress == nil {
		return nil
	}
	w := progress(size)
	if w == nil {
		return nil
	}
	return quiet{w}
}

type quiet struct{ w io.Writer }

func (q quiet) Write(p []byte) (int, error) {
	_, _ = q.w.Write(p)
	return len(p), nil
}

// isStore reports whether tx is a mongoose-go store. It looks for the schema key of the
// "meta" bucket, names store declares part of its on-disk format; store.AppliedIndex
// would dereference the missing bucket otherwise.
func isStore(tx *bolt.Tx) bool {
	meta := tx.Bucket([]byte("meta"))
	return meta != nil && meta.Get([]byte("schema")) != nil
}

// sameFile reports whether two paths name the same existing file.
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(sa, sb)
}
