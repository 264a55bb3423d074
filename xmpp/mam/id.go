package mam

import (
	"errors"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Message ids are MongooseIM's (mongoose_mam_id): microseconds since the epoch
// shifted left by 8, plus the node number (0-255), so ids sort by time and two nodes
// never make the same id. Ids are strictly increasing per node: a candidate that is
// not above the last id issued moves up by one microsecond.

// ErrBadID is an external id that does not parse.
var ErrBadID = errors.New("mam: invalid stanza id")

// IDs issues message ids for one node.
type IDs struct {
	node uint64
	last atomic.Uint64
}

// NewIDs returns a generator for a node number.
func NewIDs(node uint8) *IDs { return &IDs{node: uint64(node)} }

// NodeNumber derives a node's number from its name (FNV-1a, folded to 8 bits). Nodes
// of one cluster should get different numbers; with a clash their ids can still
// collide only within the same microsecond.
func NodeNumber(name string) uint8 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	v := h.Sum32()
	return uint8(v ^ v>>8 ^ v>>16 ^ v>>24)
}

// Next returns a new id for the time now.
func (g *IDs) Next(now time.Time) uint64 {
	cand := uint64(now.UnixMicro())<<8 | g.node
	for {
		last := g.last.Load()
		id := cand
		if id <= last {
			id = (last>>8+1)<<8 | g.node
		}
		if g.last.CompareAndSwap(last, id) {
			return id
		}
	}
}

// IDTime is the time an id was issued.
func IDTime(id uint64) time.Time { return time.UnixMicro(int64(id >> 8)).UTC() }

// IDFromTime is the smallest id of a microsecond (node 0).
func IDFromTime(t time.Time) uint64 {
	if t.UnixMicro() < 0 {
		return 0
	}
	return uint64(t.UnixMicro()) << 8
}

// EncodeID is the external form: base 32 with digits 0-9A-V, as MongooseIM's
// integer_to_binary(ID, 32).
func EncodeID(id uint64) string { return strings.ToUpper(strconv.FormatUint(id, 32)) }

// DecodeID parses an external id. As in MongooseIM, it must fit a signed 64-bit
// integer (the BIGINT column of its archive).
func DecodeID(s string) (uint64, error) {
	v, err := strconv.ParseUint(strings.ToLower(s), 32, 64)
	if err != nil || v > math.MaxInt64 || s == "" || s[0] == '+' || s[0] == '-' {
		return 0, ErrBadID
	}
	return v, nil
}
