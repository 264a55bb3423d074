package sm

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/module/moduletest"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Two nodes in one process: each a router and a module host running this module,
// joined by a fake cluster that calls the other side's handler directly.

type tnode struct {
	name    string
	router  *router.Router
	host    *module.Host
	cluster *fakeMesh
	offline atomic.Int32 // messages the offline hook took
	refuse  atomic.Bool  // Restore fails (a bind refused)
}

type fakeMesh struct {
	self  string
	peer  *tnode
	mu    sync.Mutex
	h     map[string]func(context.Context, string, []byte) ([]byte, error)
	onOp  func(op string) // runs before a call is handed over (test hook)
	calls []string
}

func (f *fakeMesh) Self() string    { return f.self }
func (f *fakeMesh) Peers() []string { return []string{f.peer.name} }
func (f *fakeMesh) Handle(svc string, h func(context.Context, string, []byte) ([]byte, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.h == nil {
		f.h = map[string]func(context.Context, string, []byte) ([]byte, error){}
	}
	f.h[svc] = h
}

func (f *fakeMesh) Call(ctx context.Context, node, svc string, req []byte) ([]byte, error) {
	var r callReq
	_ = json.Unmarshal(req, &r)
	f.mu.Lock()
	f.calls = append(f.calls, r.Op)
	hook := f.onOp
	f.mu.Unlock()
	if hook != nil {
		hook(r.Op)
	}
	other := f.peer.cluster
	other.mu.Lock()
	h := other.h[svc]
	other.mu.Unlock()
	if node != f.peer.name || h == nil {
		return nil, fmt.Errorf("no %s on %s", svc, node)
	}
	return h(ctx, f.self, req)
}

func (f *fakeMesh) Deliver(node string, full jid.JID, el *xmlstream.Element) bool {
	return node == f.peer.name && f.peer.router.DeliverFromPeer(full, el)
}

func (f *fakeMesh) ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func newNode(t *testing.T, name string, opts module.Options) *tnode {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	dir := moduletest.Directory{"ex.com": "basic"}
	st := moduletest.NewStore(t)
	n := &tnode{name: name, cluster: &fakeMesh{self: name}}
	r, err := router.New(router.Config{Directory: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	n.router = r
	n.host, err = module.NewHost(module.Config{Router: r, Store: st, Directory: dir, Accounts: st, Cluster: n.cluster, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.host.Close)
	if err := n.host.Start("basic", module.Module{Name: "offline", Start: func(env *module.Env, _ module.Options) error {
		env.OnOffline(module.PrioDefault, func(jid.JID, *xmlstream.Element) bool { n.offline.Add(1); return true })
		return nil
	}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := n.host.Start("basic", Module, opts); err != nil {
		t.Fatal(err)
	}
	return n
}

func pair(t *testing.T, opts module.Options) (a, b *tnode) {
	a, b = newNode(t, "a", opts), newNode(t, "b", opts)
	a.cluster.peer, b.cluster.peer = b, a
	return a, b
}

// tsess is a bound session as c2s makes it, for this module's purposes.
type tsess struct {
	n       *tnode
	jid     jid.JID
	adopted atomic.Bool
	kvMu    sync.Mutex
	kv      map[any]any
	pres    atomic.Pointer[xmlstream.Element]

	mu       sync.Mutex
	out      []*xmlstream.Element
	released bool
	closed   int
}

func (s *tsess) JID() jid.JID                             { return s.jid }
func (s *tsess) HostType() string                         { return "basic" }
func (s *tsess) Stop(xmlstream.Condition, string)         {}
func (s *tsess) Priority() (int, bool)                    { return 0, true }
func (s *tsess) Presence() *xmlstream.Element             { return s.pres.Load() }
func (s *tsess) SetPresence(el *xmlstream.Element, _ int) { s.pres.Store(el) }
func (s *tsess) RemoteAddr() net.Addr                     { return nil }
func (s *tsess) Value(k any) any {
	s.kvMu.Lock()
	defer s.kvMu.Unlock()
	return s.kv[k]
}
func (s *tsess) SetValue(k, v any) {
	s.kvMu.Lock()
	defer s.kvMu.Unlock()
	if s.kv == nil {
		s.kv = map[any]any{}
	}
	if v == nil {
		delete(s.kv, k)
		return
	}
	s.kv[k] = v
}
func (s *tsess) Deliver(el *xmlstream.Element) bool {
	if el = s.n.host.UserReceive(s, el); el != nil {
		s.WriteRaw(el)
	}
	return true
}
func (s *tsess) WriteRaw(el *xmlstream.Element) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = append(s.out, el)
	return true
}
func (s *tsess) Adopt() bool { return s.adopted.CompareAndSwap(false, true) }
func (s *tsess) Release() {
	s.n.router.Unbind(s)
	s.mu.Lock()
	s.released = true
	s.mu.Unlock()
}
func (s *tsess) Abandon() {
	s.n.router.Unbind(s)
	s.n.host.SessionClosed(s, module.Close{})
	s.mu.Lock()
	s.closed++
	s.mu.Unlock()
}

// end is the keeper's end for a detached session, as c2s's endDetached.
func (s *tsess) end() {
	if s.adopted.CompareAndSwap(false, true) {
		s.Abandon()
	}
}

// written returns what was written: message bodies as "m:body", others by name.
func (s *tsess) written() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, el := range s.out {
		if b := el.Child("jabber:client", "body"); b != nil {
			out = append(out, "m:"+b.Text())
		} else {
			out = append(out, el.Local)
		}
	}
	return out
}

func login(t *testing.T, n *tnode, full string) *tsess {
	t.Helper()
	s := &tsess{n: n, jid: jid.MustParse(full)}
	if err := n.router.Bind(s); err != nil {
		t.Fatal(err)
	}
	n.host.SessionOpened(s)
	return s
}

func msg(to, body string) *xmlstream.Element {
	el := xmlstream.NewElement("jabber:client", "message",
		xmlstream.Attr{Local: "to", Value: to}, xmlstream.Attr{Local: "type", Value: "chat"})
	b := xmlstream.NewElement("jabber:client", "body")
	b.AddText(body)
	el.AddChild(b)
	return el
}

// enableAndDetach enables resumption for s, delivers the bodies and breaks its
// connection; it returns the id.
func enableAndDetach(t *testing.T, s *tsess, bodies ...string) string {
	t.Helper()
	if _, err := s.n.host.Nonza(s, xmlstream.NewElement(NS, "enable", xmlstream.Attr{Local: "resume", Value: "true"})); err != nil {
		t.Fatal(err)
	}
	id := s.out[0].Attr("id")
	for _, b := range bodies {
		s.Deliver(msg(s.jid.String(), b))
	}
	if !s.n.host.ConnectionLost(s, s.end) {
		t.Fatal("not kept")
	}
	return id
}

// resumeOn sends <resume/> on node n for user; it returns the new session (nil
// if none), what was written before bind and the error.
func resumeOn(n *tnode, user, id string, h int) (*tsess, []string, error) {
	var ns *tsess
	var pre []string
	p := module.PreBind{Domain: "ex.com", HostType: "basic", User: user,
		Write: func(el *xmlstream.Element) error {
			if c := el.Elements(); len(c) > 0 {
				pre = append(pre, el.Local+":"+c[0].Local)
			} else {
				pre = append(pre, el.Local)
			}
			return nil
		},
		Resume: func(module.Session) (module.Session, error) { return nil, fmt.Errorf("not here") },
		Restore: func(st module.Restored) (module.Session, error) {
			if n.refuse.Load() {
				return nil, fmt.Errorf("refused")
			}
			s := &tsess{n: n, jid: st.JID}
			if st.Before != nil {
				st.Before(s)
			}
			if err := n.router.Bind(s); err != nil {
				return nil, err
			}
			ns = s
			return s, nil
		}}
	_, err := n.host.PreBindNonza(p, xmlstream.NewElement(NS, "resume",
		xmlstream.Attr{Local: "previd", Value: id}, xmlstream.Attr{Local: "h", Value: fmt.Sprint(h)}))
	return ns, pre, err
}

// TestResumeAcrossNodes: the buffer, what reached the old session between the
// state's transfer and the commit, and what reached it after, all arrive on the
// new node, in order; the old session is released without its close hooks.
func TestResumeAcrossNodes(t *testing.T) {
	a, b := pair(t, nil)
	old := login(t, a, "alice@ex.com/phone")
	id := enableAndDetach(t, old, "m1", "m2")
	b.cluster.onOp = func(op string) {
		if op == "commit" {
			// Routed to the old session after take: the tail.
			old.Deliver(msg("alice@ex.com/phone", "during"))
		}
	}
	ns, pre, err := resumeOn(b, "alice", id, 1)
	if err != nil || ns == nil || len(pre) != 0 {
		t.Fatalf("resume: %v %v %v", ns, pre, err)
	}
	old.Deliver(msg("alice@ex.com/phone", "after")) // found the old session late
	want := []string{"resumed", "m:m2", "r", "m:during", "r", "m:after", "r"}
	if got := ns.written(); !slices.Equal(got, want) {
		t.Fatalf("new session got %v, want %v", got, want)
	}
	if h := ns.out[0].Attr("h"); h != "0" || ns.out[0].Attr("previd") != id {
		t.Fatalf("resumed %v", ns.out[0])
	}
	if !old.released || old.closed != 0 || a.offline.Load() != 0 {
		t.Fatalf("old session: released %v, closed %d, offline %d", old.released, old.closed, a.offline.Load())
	}
	if got := b.cluster.ops(); !slices.Equal(got, []string{"take", "commit"}) {
		t.Fatalf("calls %v", got)
	}
	if _, ok := a.router.Lookup(old.jid); ok {
		t.Fatal("still bound on the old node")
	}
	// The new node holds the id now; counting goes on from the old counters.
	st := stateOf(ns)
	if st.out != 4 || st.acked != 1 || len(st.buf) != 3 {
		t.Fatalf("state out %d acked %d buffered %d", st.out, st.acked, len(st.buf))
	}
	// A second resumption of the id, back on the old node, finds it on the new one.
	back, _, err := resumeOn(a, "alice", id, 4)
	if err != nil || back == nil {
		t.Fatalf("resume back: %v %v", back, err)
	}
	if got := back.written(); !slices.Equal(got, []string{"resumed"}) {
		t.Fatalf("back on the old node: %v", got)
	}
}

// TestResumeAcrossNodesRefused: another account, an unknown id, h too high, a
// refused bind (the old node then ends the session, re-routing its buffer).
func TestResumeAcrossNodesRefused(t *testing.T) {
	a, b := pair(t, nil)
	old := login(t, a, "alice@ex.com/phone")
	id := enableAndDetach(t, old, "m1")
	if ns, pre, err := resumeOn(b, "carol", id, 0); ns != nil || err != nil || !slices.Equal(pre, []string{"failed:item-not-found"}) {
		t.Fatalf("another account: %v %v %v", ns, pre, err)
	}
	if ns, pre, err := resumeOn(b, "alice", "nosuchid", 0); ns != nil || err != nil || !slices.Equal(pre, []string{"failed:item-not-found"}) {
		t.Fatalf("unknown id: %v %v %v", ns, pre, err)
	}
	if _, _, err := resumeOn(b, "alice", id, 2); err == nil || err.Error() != hBeyond().Error() {
		t.Fatalf("h beyond: %v", err)
	}
	if a.offline.Load() != 0 || old.closed != 0 {
		t.Fatal("a refused resumption ended the old session")
	}
	// The bind on the new node fails: the old node ends its copy as if it timed
	// out, and the id is gone.
	b.refuse.Store(true)
	if ns, pre, err := resumeOn(b, "alice", id, 0); ns != nil || err != nil || !slices.Equal(pre, []string{"failed:item-not-found"}) {
		t.Fatalf("refused bind: %v %v %v", ns, pre, err)
	}
	waitFor(t, "the old session to end", func() bool { return a.offline.Load() == 1 })
	b.refuse.Store(false)
	if ns, pre, _ := resumeOn(b, "alice", id, 0); ns != nil || !slices.Equal(pre, []string{"failed:item-not-found"}) {
		t.Fatalf("after the abort: %v %v", ns, pre)
	}
	if got := b.cluster.ops(); !slices.Contains(got, "abort") {
		t.Fatalf("calls %v", got)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestResumeAcrossNodesRacesTimeout: a resumption from another node and the
// old session's timeout at once: exactly one wins. If the resumption did, nothing
// was re-routed; if the timeout did, the client gets item-not-found and the
// buffer went offline.
func TestResumeAcrossNodesRacesTimeout(t *testing.T) {
	wins := map[bool]int{}
	for range 20 {
		a, b := pair(t, nil)
		old := login(t, a, "alice@ex.com/phone")
		id := enableAndDetach(t, old, "m1")
		done := make(chan struct{})
		go func() { defer close(done); old.end() }()
		ns, pre, err := resumeOn(b, "alice", id, 0)
		<-done
		if err != nil {
			t.Fatal(err)
		}
		old.mu.Lock()
		closed, released := old.closed, old.released
		old.mu.Unlock()
		if ns != nil {
			if closed != 0 || !released || a.offline.Load() != 0 || !slices.Equal(ns.written(), []string{"resumed", "m:m1", "r"}) {
				t.Fatalf("resumed, but closed %d released %v offline %d, got %v", closed, released, a.offline.Load(), ns.written())
			}
		} else if closed != 1 || released || a.offline.Load() != 1 || !slices.Equal(pre, []string{"failed:item-not-found"}) {
			t.Fatalf("timed out, but closed %d released %v offline %d, pre %v", closed, released, a.offline.Load(), pre)
		}
		wins[ns != nil]++
	}
	t.Logf("resumption won %d times, timeout %d", wins[true], wins[false])
}
