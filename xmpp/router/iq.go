package router

import (
	"context"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Target says which addresses an IQ handler answers for.
type Target uint8

const (
	// ToServer is the domain JID (example.com).
	ToServer Target = 1 << iota
	// ToAccount is a user's bare JID (alice@example.com), including an IQ without
	// 'to', which RFC 6120 section 10.3.3 addresses to the sender's own account.
	ToAccount
	// ToBoth is ToServer|ToAccount.
	ToBoth = ToServer | ToAccount
)

// IQ is an IQ request the server answers.
type IQ struct {
	// El is the whole <iq/>; Payload its only child element.
	El, Payload *xmlstream.Element
	// From is the sender's full JID (or whatever address Deliver was given).
	From jid.JID
	// To is the address answered for: the domain JID for ToServer, a bare JID for
	// ToAccount.
	To     jid.JID
	Target Target
	// HostType is the host type of To's domain.
	HostType string
	// Session is the sending session; nil for stanzas injected with Deliver.
	Session Session
}

// OwnAccount reports whether the IQ is addressed to the sender's own account.
func (q *IQ) OwnAccount() bool { return q.Target == ToAccount && q.To == q.From.Bare() }

// Result builds the result with an optional payload.
func (q *IQ) Result(payload *xmlstream.Element) *xmlstream.Element {
	return stanza.Result(q.El, payload)
}

// Error builds an error reply; text may be empty.
func (q *IQ) Error(c stanza.Condition, text string) *xmlstream.Element {
	return stanza.ErrorReply(q.El, c, text)
}

// IQHandler answers an IQ get or set. It returns the result or error, which the
// router delivers to the sender, or nil when it has answered (or will answer) by
// itself through Router.Deliver. It runs on the sender's goroutine, so a slow
// handler delays that sender's next stanzas (never anyone else's).
type IQHandler func(ctx context.Context, iq *IQ) *xmlstream.Element

type iqKey struct {
	hostType, ns string
	target       Target
}

type iqTable struct {
	mu sync.RWMutex
	m  map[iqKey]IQHandler
}

func (t *iqTable) init() { t.m = make(map[iqKey]IQHandler) }

func (t *iqTable) lookup(hostType, ns string, target Target) IQHandler {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if h, ok := t.m[iqKey{hostType, ns, target}]; ok {
		return h
	}
	return t.m[iqKey{"", ns, target}]
}

// HandleIQ registers h for IQ get/set requests whose payload is in namespace ns,
// addressed to the given targets of domains of hostType ("" means every host
// type; a handler for a specific host type wins over it). It replaces any handler
// registered for the same key; a nil h removes it.
func (r *Router) HandleIQ(hostType, ns string, targets Target, h IQHandler) {
	r.iq.mu.Lock()
	defer r.iq.mu.Unlock()
	for _, t := range []Target{ToServer, ToAccount} {
		if targets&t == 0 {
			continue
		}
		if h == nil {
			delete(r.iq.m, iqKey{hostType, ns, t})
		} else {
			r.iq.m[iqKey{hostType, ns, t}] = h
		}
	}
}

// IQNamespaces returns, sorted, the namespaces with a handler for the target
// (ToServer or ToAccount) of domains of hostType: what disco#info advertises.
func (r *Router) IQNamespaces(hostType string, target Target) []string {
	r.iq.mu.RLock()
	var out []string
	for k := range r.iq.m {
		if k.target&target != 0 && (k.hostType == "" || k.hostType == hostType) {
			out = append(out, k.ns)
		}
	}
	r.iq.mu.RUnlock()
	slices.Sort(out)
	return slices.Compact(out)
}

// validIQ checks what RFC 6120 section 8.2.3 requires of every IQ: an id, a known
// type, exactly one payload element in a request and at most one in a result.
func validIQ(el *xmlstream.Element) bool {
	switch el.Attr("type") {
	case "get", "set":
		return el.Attr("id") != "" && countElements(el) == 1
	case "result":
		return el.Attr("id") != "" && countElements(el) <= 1
	case "error":
		// Cannot be answered anyway; let it through to its addressee.
		return true
	}
	return false
}

func countElements(el *xmlstream.Element) int {
	n := 0
	for _, c := range el.Children {
		if _, ok := c.(*xmlstream.Element); ok {
			n++
		}
	}
	return n
}

func firstElement(el *xmlstream.Element) *xmlstream.Element {
	for _, c := range el.Children {
		if e, ok := c.(*xmlstream.Element); ok {
			return e
		}
	}
	return nil
}

// routeIQ applies RFC 6120 section 10.5 and RFC 6121 section 8.5 to an IQ for a
// local domain.
func (r *Router) routeIQ(o origin, to jid.JID, hostType string, el *xmlstream.Element) {
	typ := el.Attr("type")
	request := typ == "get" || typ == "set"
	if to.Resource() != "" {
		if to.Local() != "" {
			if s, ok := r.Lookup(to); ok && s.Deliver(el) {
				return
			}
		}
		// No such resource, or domain/resource (no components yet).
		if request {
			r.bounce(o, el, serviceUnavailable)
		}
		return
	}
	if !request {
		// A response addressed to the server or an account: the server sends no
		// requests yet, so nothing waits for it.
		return
	}
	target := ToServer
	if to.Local() != "" {
		target = ToAccount
		if !r.exists(o, to) {
			r.bounce(o, el, serviceUnavailable)
			return
		}
	}
	payload := firstElement(el)
	h := r.iq.lookup(hostType, payload.Space, target)
	if h == nil {
		r.bounce(o, el, serviceUnavailable)
		return
	}
	q := &IQ{El: el, Payload: payload, From: o.jid, To: to, Target: target, HostType: hostType, Session: o.sess}
	if resp := r.callIQ(h, q); resp != nil {
		r.reply(o, resp)
	}
}

// callIQ runs a handler; a panic becomes <internal-server-error/> so that one
// broken module cannot take the sender's connection down.
func (r *Router) callIQ(h IQHandler, q *IQ) (resp *xmlstream.Element) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("router: IQ handler panicked", "ns", q.Payload.Space,
				"host_type", q.HostType, "panic", p, "stack", string(debug.Stack()))
			resp = q.Error(stanza.InternalServerError, "")
		}
	}()
	return h(r.ctx, q)
}
