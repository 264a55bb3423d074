package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

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

func (n *Node) startRaft() error {
	dir := filepath.Join(n.opts.DataDir, RaftDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("node: raft dir: %w", err)
	}
	rs := &raftStores{}
	var err error
	rs.logs, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
	if err != nil {
		return fmt.Errorf("node: raft log: %w", err)
	}
	// Raft's own log lines go through the node's slog logger, so a quiet logger
	// silences them too.
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: slogWriter{n.log}})
	rs.snaps, err = raft.NewFileSnapshotStoreWithLogger(dir, 2, hlog)
	if err != nil {
		rs.close()
		return fmt.Errorf("node: raft snapshots: %w", err)
	}
	var adv net.Addr
	if n.opts.Advertise != "" {
		adv, err = net.ResolveTCPAddr("tcp", n.opts.Advertise)
		if err != nil {
			rs.close()
			return fmt.Errorf("node: cluster advertise address: %w", err)
		}
	}
	rs.trans, err = raft.NewTCPTransportWithLogger(n.opts.RaftAddr, adv, 3, 10*time.Second, hlog)
	if err != nil {
		rs.close()
		return fmt.Errorf("node: cluster listen %s: %w", n.opts.RaftAddr, err)
	}

	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(n.opts.NodeName)
	conf.Logger = hlog
	// The FSM keeps its own file and applied index: restoring the last snapshot at
	// start would only rewrite what is already on disk.
	conf.NoSnapshotRestoreOnStart = true
	// Let raft hand the FSM whole batches: one bbolt transaction and fsync each.
	conf.BatchApplyCh = true
	conf.MaxAppendEntries = 512
	conf.HeartbeatTimeout = 500 * time.Millisecond
	conf.ElectionTimeout = 500 * time.Millisecond
	conf.LeaderLeaseTimeout = 250 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond

	has, err := raft.HasExistingState(rs.logs, rs.logs, rs.snaps)
	if err != nil {
		rs.close()
		return fmt.Errorf("node: raft state: %w", err)
	}
	if !has {
		if err := n.fsm.ResetAppliedIndex(); err != nil {
			rs.close()
			return fmt.Errorf("node: reset applied index: %w", err)
		}
	}
	r, err := raft.NewRaft(conf, n.fsm, rs.logs, rs.logs, rs.snaps, rs.trans)
	if err != nil {
		rs.close()
		return fmt.Errorf("node: start raft: %w", err)
	}
	n.raft, n.rs = r, rs
	if !has {
		cfg := raft.Configuration{Servers: []raft.Server{{
			ID: conf.LocalID, Address: rs.trans.LocalAddr(), Suffrage: raft.Voter,
		}}}
		if err := r.BootstrapCluster(cfg).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return fmt.Errorf("node: bootstrap: %w", err)
		}
		n.log.Info("bootstrapped a new one-node cluster", "node", n.opts.NodeName, "address", rs.trans.LocalAddr())
	}
	return nil
}

// RaftAddr returns the cluster address this node listens on.
func (n *Node) RaftAddr() string { return string(n.rs.trans.LocalAddr()) }

// slogWriter forwards hclog's formatted lines to slog at warn level.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Warn(strings.TrimSpace(string(p)), "component", "raft")
	return len(p), nil
}
