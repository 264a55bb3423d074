package sm

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Resumption across nodes. An id is a tag of the node that enabled it (8
// base64url characters of a hash of the node's name) and 128 random bits
// (22 characters): the node where a <resume/> lands asks the tagged node first,
// then the other connected nodes (a session that already moved once lives on
// another node than its tag says), over the mesh (module.Cluster.Call, service
// "sm/" + host type). The session moves in two steps:
//
//  1. take (new node B -> old node A): A checks the id, the account and h, adopts
//     the session (module.Transferable: from now on neither its timeout, nor a
//     local <resume/>, nor a Stop ends it), applies h, and answers with its full
//     JID, counters, unacknowledged stanzas, presence and portable values. The
//     session stays bound on A and keeps buffering whatever is routed to it.
//  2. B binds the full JID with that state (its mesh publication reaches A before
//     the next step, on the same connection), writes <resumed/> and the stanzas,
//     and sends commit. A then forwards, in order, what it buffered after its
//     answer to B's session (frames on the same connection, so they arrive before
//     the commit's answer and after B's bind), marks the state moved (a stanza
//     still reaching the old session is forwarded too) and unbinds its session
//     without close hooks.
//
// If B fails between the steps (bind refused, client gone) it sends abort, and A
// ends its copy as if it had timed out: unbind, close hooks, unacknowledged
// stanzas re-routed. Without commit or abort within handoverTimeout (B died, the
// connection broke) A does the same.

// CallTimeout bounds each call to another node; a node that does not answer in
// time is treated as not having the session.
const CallTimeout = 5 * time.Second

// handoverTimeout is how long the old node waits for commit or abort.
const handoverTimeout = 2*CallTimeout + time.Second

const tagLen = 8

func nodeTag(node string) string {
	sum := sha256.Sum256([]byte(node))
	return base64.RawURLEncoding.EncodeToString(sum[:6])
}

// newID returns a resumption id tagged with this node.
func (m *mod) newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return m.tag + base64.RawURLEncoding.EncodeToString(b[:])
}

func (m *mod) service() string { return "sm/" + m.env.HostType() }

// callReq is a request between nodes.
type callReq struct {
	Op     string `json:"op"` // take, commit, abort
	ID     string `json:"id"`
	User   string `json:"user,omitempty"`
	Domain string `json:"domain,omitempty"`
	H      uint32 `json:"h,omitempty"`
}

// takeResp is the answer to take.
type takeResp struct {
	Err      string            `json:"err,omitempty"` // errNotFound, errHBeyond
	JID      string            `json:"jid,omitempty"`
	In       uint32            `json:"in"`
	Out      uint32            `json:"out"`
	Acked    uint32            `json:"acked"`
	Buf      []byte            `json:"buf,omitempty"` // module.EncodeStanzas
	Presence []byte            `json:"presence,omitempty"`
	Priority int               `json:"priority"`
	Values   map[string][]byte `json:"values,omitempty"`
}

const (
	errNotFound = "item-not-found"
	errHBeyond  = "h-beyond"
)

// handle answers the other nodes' calls.
func (m *mod) handle(_ context.Context, from string, req []byte) ([]byte, error) {
	var r callReq
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, fmt.Errorf("sm: bad call: %w", err)
	}
	switch r.Op {
	case "take":
		return json.Marshal(m.take(from, r))
	case "commit":
		return nil, m.commit(from, r.ID)
	case "abort":
		m.abort(from, r.ID)
		return nil, nil
	}
	return nil, fmt.Errorf("sm: unknown call %q", r.Op)
}

// take is step 1 on the old node.
func (m *mod) take(from string, r callReq) takeResp {
	m.mu.Lock()
	st := m.ids[r.ID]
	m.mu.Unlock()
	if st == nil || st.owner.Local() != r.User || st.owner.Domain() != r.Domain {
		return takeResp{Err: errNotFound}
	}
	st.mu.Lock()
	if st.ended || st.stoppedBy || st.handing != "" {
		st.mu.Unlock()
		return takeResp{Err: errNotFound}
	}
	if r.H-st.acked > uint32(len(st.buf)) {
		st.mu.Unlock()
		return takeResp{Err: errHBeyond}
	}
	tr, ok := st.sess.(module.Transferable)
	// Adopting is the token a timeout, a local resumption and a close also take:
	// whoever has it, the others do nothing.
	if !ok || !tr.Adopt() {
		st.mu.Unlock()
		return takeResp{Err: errNotFound}
	}
	_ = st.ackLocked(r.H)
	if st.timer != nil {
		st.timer.Stop()
	}
	// A session whose connection still lives writes nothing more to it: the client
	// has moved on.
	st.detached = true
	st.handing = from
	st.snap = len(st.buf)
	st.handTimer = time.AfterFunc(handoverTimeout, func() { m.abort(from, r.ID) })
	resp := takeResp{JID: st.owner.String(), In: st.in, Out: st.out, Acked: st.acked, Buf: module.EncodeStanzas(st.buf)}
	s := st.sess
	st.mu.Unlock()
	// Other modules' values are read outside st.mu: their locks never nest in it.
	if p := s.Presence(); p != nil {
		resp.Presence = module.StanzaXML(p)
		resp.Priority, _ = s.Priority()
	}
	resp.Values = m.env.Host().ExportValues(s)
	return resp
}

// commit is step 2 on the old node: the session lives on at node from.
func (m *mod) commit(from, id string) error {
	m.mu.Lock()
	st := m.ids[id]
	m.mu.Unlock()
	if st == nil {
		return fmt.Errorf("sm: commit of unknown id")
	}
	st.mu.Lock()
	if st.handing != from {
		st.mu.Unlock()
		return fmt.Errorf("sm: commit of a session not handed to %s", from)
	}
	st.handTimer.Stop()
	st.handing, st.movedTo, st.ended = "", from, true
	// Under st.mu: what the receive hook forwards from now on queues after these.
	if cl := m.env.Cluster(); cl != nil {
		for _, el := range st.buf[st.snap:] {
			cl.Deliver(from, st.owner, el)
		}
	}
	st.buf = nil
	s := st.sess
	st.mu.Unlock()
	m.mu.Lock()
	delete(m.ids, id)
	m.mu.Unlock()
	if tr, ok := s.(module.Transferable); ok {
		tr.Release()
	}
	return nil
}

// abort ends the old node's copy of a session whose handover to from failed, as
// if its timeout had passed.
func (m *mod) abort(from, id string) {
	m.mu.Lock()
	st := m.ids[id]
	m.mu.Unlock()
	if st == nil {
		return
	}
	st.mu.Lock()
	if st.handing != from || from == "" {
		st.mu.Unlock()
		return
	}
	st.handTimer.Stop()
	st.handing = ""
	s := st.sess
	st.mu.Unlock()
	m.env.Logger().Info("stream resumption on another node failed; session ended", "node", from, "jid", st.owner.String())
	if tr, ok := s.(module.Transferable); ok {
		// Unbinds and runs the closed hooks, which re-route the buffer.
		tr.Abandon()
	}
}

// candidates lists the nodes to ask for id: the tagged one first, then the others.
func (m *mod) candidates(cl module.Cluster, id string) []string {
	peers := slices.Clone(cl.Peers())
	slices.Sort(peers)
	if len(id) > tagLen {
		tag := id[:tagLen]
		for i, p := range peers {
			if nodeTag(p) == tag {
				peers[0], peers[i] = peers[i], peers[0]
				break
			}
		}
	}
	return peers
}

func (m *mod) call(node string, r callReq) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(m.env.Context(), CallTimeout)
	defer cancel()
	return m.env.Cluster().Call(ctx, node, m.service(), b)
}

// resumeRemote is step 1 and 2 on the new node, for an id this node does not hold.
func (m *mod) resumeRemote(p module.PreBind, id string, h uint32) error {
	cl := m.env.Cluster()
	if cl == nil || p.Restore == nil {
		return p.Write(failed("item-not-found"))
	}
	for _, node := range m.candidates(cl, id) {
		b, err := m.call(node, callReq{Op: "take", ID: id, User: p.User, Domain: p.Domain, H: h})
		if err != nil {
			m.env.Logger().Debug("resume: node did not answer", "node", node, "error", err)
			continue
		}
		var resp takeResp
		if err := json.Unmarshal(b, &resp); err != nil {
			m.env.Logger().Warn("resume: bad answer", "node", node, "error", err)
			continue
		}
		switch resp.Err {
		case "":
			return m.restore(p, node, id, &resp)
		case errHBeyond:
			return hBeyond()
		}
	}
	return p.Write(failed("item-not-found"))
}

// restore builds the session from what node answered and takes it over.
func (m *mod) restore(p module.PreBind, node, id string, resp *takeResp) error {
	abort := func(why string, err error) error {
		m.env.Logger().Info("resume from another node failed", "node", node, "reason", why, "error", err)
		go func() { _, _ = m.call(node, callReq{Op: "abort", ID: id}) }()
		return p.Write(failed("item-not-found"))
	}
	full, err := jid.Parse(resp.JID)
	if err != nil {
		return abort("bad jid", err)
	}
	buf, err := module.DecodeStanzas(resp.Buf)
	if err != nil {
		return abort("bad buffer", err)
	}
	var pres *xmlstream.Element
	if len(resp.Presence) > 0 {
		if pres, err = module.ParseStanza(resp.Presence); err != nil {
			return abort("bad presence", err)
		}
	}
	st := &state{id: id, owner: full, in: resp.In, out: resp.Out, acked: resp.Acked, buf: buf}
	// Held until <resumed/> and the buffer are written: a stanza routed to the new
	// session meanwhile waits in the receive hook and goes after them. No call is
	// made while holding it (the mesh's reading goroutine may be the one waiting).
	st.mu.Lock()
	ns, err := p.Restore(module.Restored{JID: full, Presence: pres, Priority: resp.Priority,
		Before: func(s module.Session) {
			m.env.Host().ImportValues(s, resp.Values)
			st.sess = s
			s.SetValue(key{}, st)
		}})
	if err != nil {
		st.mu.Unlock()
		return abort("bind", err)
	}
	st.sess = ns
	m.mu.Lock()
	m.ids[id] = st
	m.mu.Unlock()
	m.writeResumed(ns, st, id)
	st.mu.Unlock()
	if _, err := m.call(node, callReq{Op: "commit", ID: id}); err != nil {
		// The session lives here; the old node ends its copy when its wait ends.
		m.env.Logger().Warn("resume: commit to the old node failed", "node", node, "error", err)
	}
	return nil
}
