package raftfsm

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/mongoose-go/mongoose-go/store"
)

// A command is one byte naming the mutation type, then the mutation's msgpack encoding.
// The bytes are part of the replicated log format: never reuse or renumber one.
// Types with the flagIgnorable bit may be skipped by an older binary that does not know
// them (Consul's trick for rolling upgrades); all others stop a node that cannot decode
// them, because skipping would make its state diverge.
const flagIgnorable byte = 0x80

var kinds = map[byte]func() store.Mutation{
	1:  func() store.Mutation { return new(store.AddDomain) },
	2:  func() store.Mutation { return new(store.SetDomainEnabled) },
	3:  func() store.Mutation { return new(store.MarkDomainDeleting) },
	4:  func() store.Mutation { return new(store.PurgeDomain) },
	5:  func() store.Mutation { return new(store.DeleteDomainRow) },
	6:  func() store.Mutation { return new(store.SetDomainPassword) },
	7:  func() store.Mutation { return new(store.DeleteDomainPassword) },
	10: func() store.Mutation { return new(store.AddUser) },
	11: func() store.Mutation { return new(store.SetUserPassword) },
	12: func() store.Mutation { return new(store.RemoveUser) },
	20: func() store.Mutation { return new(store.SetRosterItem) },
	21: func() store.Mutation { return new(store.RemoveRoster) },
	30: func() store.Mutation { return new(store.StoreOffline) },
	31: func() store.Mutation { return new(store.DeleteOffline) },
	40: func() store.Mutation { return new(store.SetVCard) },
	41: func() store.Mutation { return new(store.SetPrivate) },
	42: func() store.Mutation { return new(store.SetLast) },
	43: func() store.Mutation { return new(store.SetBlocked) },
	44: func() store.Mutation { return new(store.RemoveUserData) },
	70: func() store.Mutation { return new(store.ArchiveMessages) },
	71: func() store.Mutation { return new(store.RemoveArchive) },
	72: func() store.Mutation { return new(store.SetMAMPrefs) },
	80: func() store.Mutation { return new(store.PutMUCLightRoom) },
	81: func() store.Mutation { return new(store.DeleteMUCLightRoom) },
	82: func() store.Mutation { return new(store.SetMUCLightBlocking) },
}

var kindOf = func() map[reflect.Type]byte {
	m := make(map[reflect.Type]byte, len(kinds))
	for k, newFn := range kinds {
		m[reflect.TypeOf(newFn())] = k
	}
	return m
}()

var mh = func() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.WriteExt = true
	return h
}()

// ErrUnknownKind reports a mutation type without a command byte.
var ErrUnknownKind = errors.New("raftfsm: unknown mutation type")

// Encode turns a mutation into a raft log payload.
func Encode(m store.Mutation) ([]byte, error) {
	k, ok := kindOf[reflect.TypeOf(m)]
	if !ok {
		return nil, fmt.Errorf("%w: %T", ErrUnknownKind, m)
	}
	var buf bytes.Buffer
	buf.WriteByte(k)
	if err := codec.NewEncoder(&buf, mh).Encode(m); err != nil {
		return nil, fmt.Errorf("raftfsm: encode %T: %w", m, err)
	}
	return buf.Bytes(), nil
}

// Decode parses a raft log payload. It returns (nil, nil) for an unknown ignorable kind.
func Decode(data []byte) (store.Mutation, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty command", ErrUnknownKind)
	}
	newFn, ok := kinds[data[0]]
	if !ok {
		if data[0]&flagIgnorable != 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: command byte %d", ErrUnknownKind, data[0])
	}
	m := newFn()
	if err := codec.NewDecoderBytes(data[1:], mh).Decode(m); err != nil {
		return nil, fmt.Errorf("raftfsm: decode command %d: %w", data[0], err)
	}
	return m, nil
}
