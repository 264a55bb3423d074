package node

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"
)

// RaftTuning overrides raft timings and snapshot policy; zero fields keep the defaults.
// Tests shorten the timeouts; operators have no reason to.
type RaftTuning struct {
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	SnapshotInterval   time.Duration
	SnapshotThreshold  uint64
	TrailingLogs       uint64
}

type raftStores struct {
	logs  *raftboltdb.BoltStore
	snaps raft.SnapshotStore
	trans *raft.NetworkTransport
}

func (r *raftStores) close() error {
	var errs []error
	if r.trans != nil {
		errs = append(errs, r.trans.Close())
	}
	if r.logs != nil {
		errs = append(errs, r.logs.Close())
	}
	return errors.Join(errs...)
}

// RaftDir is the directory of the raft log and snapshots inside the data dir.
const RaftDir = "raft"

func (n *Node) raftConfig(hlog hclog.Logger) *raft.Config {
	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(n.opts.NodeName)
	conf.Logger = hlog
	// The FSM keeps its own file and applied index: restoring the last snapshot at
	// start would only rewrite what is already on disk. Unless the file was set aside
	// because the machine went down with it open (raftfsm's durable.go): then the
	// snapshot and the log after it rebuild it.
	conf.NoSnapshotRestoreOnStart = !n.fsm.Rebuilt()
	// Let raft hand the FSM whole batches: one bbolt transaction and fsync each.
	conf.BatchApplyCh = true
	conf.MaxAppendEntries = 512
	conf.HeartbeatTimeout = 500 * time.Millisecond
	conf.ElectionTimeout = 500 * time.Millisecond
	conf.LeaderLeaseTimeout = 250 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	t := n.opts.Raft
	set := func(dst *time.Duration, v time.Duration) {
		if v > 0 {
			*dst = v
		}
	}
	set(&conf.HeartbeatTimeout, t.HeartbeatTimeout)
	set(&conf.ElectionTimeout, t.ElectionTimeout)
	set(&conf.LeaderLeaseTimeout, t.LeaderLeaseTimeout)
	set(&conf.CommitTimeout, t.CommitTimeout)
	set(&conf.SnapshotInterval, t.SnapshotInterval)
	if t.SnapshotThreshold > 0 {
		conf.SnapshotThreshold = t.SnapshotThreshold
	}
	if t.TrailingLogs > 0 {
		conf.TrailingLogs = t.TrailingLogs
	}
	return conf
}

// startRaft opens the raft stores on the cluster port and starts raft. When the data
// dir holds no raft state yet and bootstrap is set, it bootstraps a one-node cluster;
// without bootstrap, raft starts with no configuration and waits to be added to a
// cluster by its leader. It reports whether raft state existed.
func (n *Node) startRaft(bootstrap bool) (bool, error) {
	dir := filepath.Join(n.opts.DataDir, RaftDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("node: raft dir: %w", err)
	}
	rs := &raftStores{}
	var err error
	rs.logs, err = raftboltdb.New(raftboltdb.Options{
		Path: filepath.Join(dir, "raft.db"),
		// The freelist is rebuilt at open instead of being written at every commit:
		// one page less per append, on the path of every write.
		BoltOptions: &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType},
	})
	if err != nil {
		return false, fmt.Errorf("node: raft log: %w", err)
	}
	fail := func(err error) (bool, error) {
		rs.close()
		return false, err
	}
	// Raft's own log lines go through the node's slog logger, so a quiet logger
	// silences them too.
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: slogWriter{n.log}})
	rs.snaps, err = raft.NewFileSnapshotStoreWithLogger(dir, 2, hlog)
	if err != nil {
		return fail(fmt.Errorf("node: raft snapshots: %w", err))
	}
	rs.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  n.port.RaftLayer(),
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  hlog,
	})
	conf := n.raftConfig(hlog)
	has, err := raft.HasExistingState(rs.logs, rs.logs, rs.snaps)
	if err != nil {
		return fail(fmt.Errorf("node: raft state: %w", err))
	}
	self := raft.Configuration{Servers: []raft.Server{{
		ID: conf.LocalID, Address: rs.trans.LocalAddr(), Suffrage: raft.Voter,
	}}}
	fromStore := false
	if !has {
		data, err := n.storeHasData()
		if err != nil {
			return fail(err)
		}
		if data && !bootstrap {
			return fail(refusedf("the data dir holds a store with data but no raft state (a restored backup?): " +
				"start it without join to make it the first node of a cluster, or empty the data dir to join one"))
		}
		if err := n.fsm.ResetAppliedIndex(); err != nil {
			return fail(fmt.Errorf("node: reset applied index: %w", err))
		}
		n.visible.Store(0)
		if data {
			// The log of a new cluster starts empty, so a node joining later would get
			// nothing of this store by replaying it. Bootstrapping by a snapshot that
			// holds the store makes the leader ship the store itself to every joiner.
			if err := n.bootstrapFromStore(rs, self); err != nil {
				return fail(err)
			}
			fromStore = true
		}
	}
	r, err := raft.NewRaft(conf, watchedFSM{FSM: n.fsm, n: n}, rs.logs, rs.logs, rs.snaps, rs.trans)
	if err != nil {
		return fail(fmt.Errorf("node: start raft: %w", err))
	}
	n.rs = rs
	n.trackRaft(r)
	n.raftp.Store(r)
	n.startWatcher(r)
	switch {
	case fromStore:
		n.log.Info("bootstrapped a new one-node cluster from the existing store", "node", n.opts.NodeName, "address", rs.trans.LocalAddr())
	case !has && bootstrap:
		if err := r.BootstrapCluster(self).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return false, fmt.Errorf("node: bootstrap: %w", err)
		}
		n.log.Info("bootstrapped a new one-node cluster", "node", n.opts.NodeName, "address", rs.trans.LocalAddr())
	}
	return has, nil
}

// bootstrapFromStore writes a snapshot of the current store at index 1, term 1, whose
// configuration is this node alone: raft starts from it as from any snapshot.
func (n *Node) bootstrapFromStore(rs *raftStores, conf raft.Configuration) error {
	sink, err := rs.snaps.Create(raft.SnapshotVersionMax, 1, 1, conf, 1, rs.trans)
	if err != nil {
		return fmt.Errorf("node: bootstrap snapshot: %w", err)
	}
	snap, err := n.fsm.Snapshot()
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("node: bootstrap snapshot: %w", err)
	}
	defer snap.Release()
	if err := snap.Persist(sink); err != nil {
		return fmt.Errorf("node: bootstrap snapshot: %w", err)
	}
	return nil
}

// stopRaft shuts raft down and closes its stores; the cluster port stays up.
func (n *Node) stopRaft() error {
	var errs []error
	if r := n.raftp.Load(); r != nil {
		if err := r.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
		}
		n.untrackRaft(r)
	}
	n.stopWatcher()
	if n.rs != nil {
		errs = append(errs, n.rs.close())
		n.rs = nil
	}
	return errors.Join(errs...)
}

// storeHasData reports whether the store holds anything but its metadata (schema
// version, applied index): domains, accounts, or any tenant data.
func (n *Node) storeHasData() (bool, error) {
	found := false
	err := n.fsm.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if string(name) == "meta" {
				return nil
			}
			if k, _ := b.Cursor().First(); k != nil {
				found = true
			}
			return nil
		})
	})
	if err != nil {
		return false, fmt.Errorf("node: read store: %w", err)
	}
	return found, nil
}

// RaftAddr returns the cluster address peers dial to reach this node.
func (n *Node) RaftAddr() string { return n.port.Addr() }

// slogWriter forwards hclog's formatted lines to slog at warn level.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Warn(strings.TrimSpace(string(p)), "component", "raft")
	return len(p), nil
}

// trackRaft gives a raft instance a channel closed once it has shut down: entries it
// took but never answered (see await) stop being waited for then.
func (n *Node) trackRaft(r *raft.Raft) {
	n.stoppedMu.Lock()
	defer n.stoppedMu.Unlock()
	if n.stopped == nil {
		n.stopped = map[*raft.Raft]chan struct{}{}
	}
	n.stopped[r] = make(chan struct{})
}

func (n *Node) untrackRaft(r *raft.Raft) {
	n.stoppedMu.Lock()
	defer n.stoppedMu.Unlock()
	if ch, ok := n.stopped[r]; ok {
		close(ch)
		delete(n.stopped, r)
	}
}

// raftStopped returns r's shutdown channel; an instance no longer tracked has shut
// down already.
func (n *Node) raftStopped(r *raft.Raft) <-chan struct{} {
	n.stoppedMu.Lock()
	defer n.stoppedMu.Unlock()
	if ch, ok := n.stopped[r]; ok {
		return ch
	}
	ch := make(chan struct{})
	close(ch)
	return ch
}
