package backup

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"
)

// maxLogScan bounds how many raft log entries nodeFromRaft reads looking for the last
// configuration entry: the name is a courtesy, not worth minutes on a huge log.
const maxLogScan = 100_000

// nodeFromRaft returns the node's name when the data dir's last raft configuration
// holds exactly one server (which can only be this node), and "" otherwise. Raft does
// not store the local server ID, so a member of a larger cluster stays anonymous unless
// the operator names it.
func nodeFromRaft(dir string) string {
	cfg, ok := lastConfiguration(dir)
	if !ok || len(cfg.Servers) != 1 {
		return ""
	}
	return string(cfg.Servers[0].ID)
}

// lastConfiguration finds the newest cluster configuration in the snapshots' metadata
// and the log's configuration entries.
func lastConfiguration(dir string) (raft.Configuration, bool) {
	cfg, idx, found := snapshotConfiguration(dir)
	logs, err := raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(dir, "raft.db"),
		BoltOptions: &bolt.Options{ReadOnly: true, Timeout: 500 * time.Millisecond},
	})
	if err != nil {
		return cfg, found
	}
	defer logs.Close()
	first, err1 := logs.FirstIndex()
	last, err2 := logs.LastIndex()
	if err1 != nil || err2 != nil || last == 0 {
		return cfg, found
	}
	for i, n := last, 0; i >= first && i > idx && n < maxLogScan; i, n = i-1, n+1 {
		var l raft.Log
		if err := logs.GetLog(i, &l); err != nil {
			break
		}
		if l.Type != raft.LogConfiguration {
			continue
		}
		if c, err := decodeConfiguration(l.Data); err == nil {
			return c, true
		}
		break
	}
	return cfg, found
}

// snapshotConfiguration reads the configuration of the newest snapshot in raft's file
// snapshot store (<dir>/snapshots/<id>/meta.json).
func snapshotConfiguration(dir string) (cfg raft.Configuration, idx uint64, found bool) {
	root := filepath.Join(dir, "snapshots")
	entries, err := os.ReadDir(root)
	if err != nil {
		return cfg, 0, false
	}
	for _, e := range entries {
		// Snapshots still being written end in ".tmp".
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, e.Name(), "meta.json"))
		if err != nil {
			continue
		}
		var m raft.SnapshotMeta
		if json.Unmarshal(b, &m) != nil || len(m.Configuration.Servers) == 0 {
			continue
		}
		if !found || m.ConfigurationIndex > idx {
			cfg, idx, found = m.Configuration, m.ConfigurationIndex, true
		}
	}
	return cfg, idx, found
}

// decodeConfiguration wraps raft.DecodeConfiguration, which panics on bad input.
func decodeConfiguration(b []byte) (cfg raft.Configuration, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("backup: raft configuration: %v", r)
		}
	}()
	return raft.DecodeConfiguration(b), nil
}
