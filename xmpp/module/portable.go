package module

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Moving a session to another node (stream resumption across the cluster). A
// session's module values are Go values of module-private types; only those a
// module declares portable, with an encoder and a decoder, travel with the session.
// Everything else is dropped on transfer: a value left behind must be one the module
// can do without (re-created on demand, like mod_mam's pending archive waits).

// Cluster is how modules reach the same module on the other nodes of the cluster;
// node/mesh implements it. Calls travel over the mesh connection with that node.
type Cluster interface {
	// Self is this node's name.
	Self() string
	// Peers returns the names of the nodes connected now.
	Peers() []string
	// Call sends req to the handler registered under service on node and returns its
	// answer. It fails when the node is not connected, the call or the answer is too
	// big for a mesh frame, ctx ends first, or the handler returned an error.
	Call(ctx context.Context, node, service string, req []byte) ([]byte, error)
	// Handle registers h for the calls of other nodes to service (nil removes it).
	// h runs on its own goroutine; ctx ends when the mesh closes.
	Handle(service string, h func(ctx context.Context, from string, req []byte) ([]byte, error))
	// Deliver hands el, as is, to the session bound to full on node, after every
	// frame queued for that node before it (router.Remote.Deliver).
	Deliver(node string, full jid.JID, el *xmlstream.Element) bool
}

// ErrNoCluster is returned by Env.Call on a node that has no cluster mesh.
var ErrNoCluster = errors.New("module: no cluster")

// Cluster returns the cluster, or nil when the node runs without a mesh.
func (e *Env) Cluster() Cluster { return e.h.cfg.Cluster }

// PortableValue declares the session value under key portable under name (unique
// for the host type): when a session moves to another node, encode turns its value
// into bytes there and decode rebuilds it here. encode sees only values the module
// stored; an error (or a value of no portable kind) drops the value from the
// transfer. encode runs once, as the session leaves this node (it is adopted and
// will be dropped): a value that holds stanzas back may hand them over and stop
// holding more (mod_csi does). Call it during Start.
func (e *Env) PortableValue(name string, key any, encode func(any) ([]byte, error), decode func([]byte) (any, error)) {
	e.check()
	r := e.h.portables()
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.byType[e.hostType]
	if m == nil {
		m = map[string]portable{}
		r.byType[e.hostType] = m
	}
	m[name] = portable{key: key, enc: encode, dec: decode}
}

type portable struct {
	key any
	enc func(any) ([]byte, error)
	dec func([]byte) (any, error)
}

type portableRegistry struct {
	mu     sync.Mutex
	byType map[string]map[string]portable
}

type portablesKey struct{}

func (h *Host) portables() *portableRegistry {
	return h.Shared(portablesKey{}, func() any {
		return &portableRegistry{byType: map[string]map[string]portable{}}
	}).(*portableRegistry)
}

// tenantValue is the name under which the session's tenant incarnation travels.
const tenantValue = "module.tenant"

// ExportValues encodes s's portable values by name. Values that failed to encode
// are left out and logged.
func (h *Host) ExportValues(s Session) map[string][]byte {
	out := map[string][]byte{}
	if inc, ok := s.Value(tenantKey{}).(uint64); ok {
		out[tenantValue] = binary.AppendUvarint(nil, inc)
	}
	r := h.portables()
	r.mu.Lock()
	ps := r.byType[s.HostType()]
	r.mu.Unlock()
	for name, p := range ps {
		v := s.Value(p.key)
		if v == nil {
			continue
		}
		var b []byte
		var err error
		if h.safely("portable_encode", func() { b, err = p.enc(v) }) || err != nil {
			h.log.Warn("session value not transferred", "value", name, "err", err)
			continue
		}
		out[name] = b
	}
	return out
}

// ImportValues decodes values exported by ExportValues on another node into s.
// Unknown names and values that fail to decode are skipped and logged.
func (h *Host) ImportValues(s Session, vals map[string][]byte) {
	if b, ok := vals[tenantValue]; ok {
		if inc, n := binary.Uvarint(b); n > 0 {
			s.SetValue(tenantKey{}, inc)
		}
	}
	r := h.portables()
	r.mu.Lock()
	ps := r.byType[s.HostType()]
	r.mu.Unlock()
	for name, b := range vals {
		if name == tenantValue {
			continue
		}
		p, ok := ps[name]
		if !ok {
			h.log.Warn("session value from another node not known here", "value", name)
			continue
		}
		var v any
		var err error
		if h.safely("portable_decode", func() { v, err = p.dec(b) }) || err != nil {
			h.log.Warn("session value not restored", "value", name, "err", err)
			continue
		}
		if v != nil {
			s.SetValue(p.key, v)
		}
	}
}

// EncodeBool encodes a value that is the bool true when set (an "interested" or
// "enabled" flag).
func EncodeBool(v any) ([]byte, error) {
	if b, ok := v.(bool); ok && b {
		return []byte{1}, nil
	}
	return nil, fmt.Errorf("module: not true: %T", v)
}

// DecodeBool is EncodeBool's decoder.
func DecodeBool(b []byte) (any, error) {
	if len(b) == 1 && b[0] == 1 {
		return true, nil
	}
	return nil, fmt.Errorf("module: bad bool value")
}

// Transferable is implemented by sessions that a stream on another node can take
// over (the c2s connection).
type Transferable interface {
	// Adopt marks the session taken over, as a local resumption does: from then on
	// neither Stop, nor a broken connection, nor the keeper's end unbinds it or runs
	// its SessionClosed hooks. It stays bound, receiving, until Release or Abandon.
	// False when it was already adopted or ended.
	Adopt() bool
	// Release drops an adopted session that moved: it is unbound without
	// SessionClosed hooks and its connection, if it still has one, is closed with
	// <conflict/> "Replaced by new connection".
	Release()
	// Abandon ends an adopted session whose move failed as if it had ended here:
	// it is unbound and the SessionClosed hooks run.
	Abandon()
}

// Restored is the state of a session that moved from another node.
type Restored struct {
	JID      jid.JID
	Presence *xmlstream.Element // last available broadcast presence, or nil
	Priority int
	// Before runs on the new session before it is bound (the session's module
	// state goes in first, so the first stanza routed to it finds it).
	Before func(s Session)
}
