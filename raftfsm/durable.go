package raftfsm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Durability of the store file.
//
// Every write reaches the store through the raft log, which raft fsyncs before the
// entry is committed, so the log alone makes an acknowledged write durable: that is
// rqlite's and etcd's design too. The store file is therefore written without fsync
// (bbolt NoSync), which halves the fsyncs of every write and cuts its latency.
//
// Without fsync, bbolt's pages may reach the disk in any order, so the file is only
// trustworthy if the kernel that received the writes is the one still running:
//   - a process crash (kill -9, panic, OOM kill) loses nothing, because every write
//     bbolt made is in the page cache, which the kernel flushes regardless;
//   - a machine crash or power loss can leave the file torn.
//
// While a node has the file open, a marker file next to it holds the kernel's boot
// id; a clean close syncs the file and removes the marker. A marker from another boot
// means the machine went down with the file open: the file is set aside and rebuilt
// from the last raft snapshot and the log after it. Where no boot id is available
// (not Linux), the store keeps fsyncing every commit.

const markerSuffix = ".open"

// bootID returns the running kernel's boot id, which changes at every boot.
var bootID = func() (string, bool) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", false
	}
	id := strings.TrimSpace(string(b))
	return id, id != ""
}

// ErrUntrusted is a store file left open by a node when the machine went down: it
// may be torn, and only the raft log can rebuild it.
var ErrUntrusted = errors.New("raftfsm: the store was open when the machine went down and may be torn; " +
	"start the node to rebuild it from its raft log")

// CheckTrusted reports ErrUntrusted for a store file whose node was running when the
// machine went down (see above); nil for a file closed cleanly, a file whose node died
// on this boot, and a missing file.
func CheckTrusted(path string) error {
	b, err := os.ReadFile(path + markerSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("raftfsm: %w", err)
	}
	if id, ok := bootID(); ok && strings.TrimSpace(string(b)) == id {
		return nil
	}
	return ErrUntrusted
}

// ForgetMarker removes the open marker of a store file that was replaced as a whole
// (an offline restore): the new file is synced and owes nothing to the old one.
func ForgetMarker(path string) error {
	err := os.Remove(path + markerSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("raftfsm: %w", err)
	}
	return SyncDir(filepath.Dir(path))
}

// writeMarker records that the file is open on this boot, durably, before the
// first unsynced write.
func writeMarker(path, id string) error {
	if err := WriteFileSync(path+markerSuffix, strings.NewReader(id+"\n")); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir fsyncs a directory, so that a file created, renamed or removed in it
// survives a machine crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("raftfsm: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("raftfsm: sync %s: %w", dir, err)
	}
	return nil
}

// setAside moves an untrusted store file out of the way, keeping the last one for
// inspection, and drops its marker.
func setAside(path string) error {
	err := os.Rename(path, path+".untrusted")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("raftfsm: set aside %s: %w", path, err)
	}
	return ForgetMarker(path)
}
