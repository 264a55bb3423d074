// Package sm is mod_stream_management (XEP-0198 v1.6): acknowledgements of handled
// stanzas in both directions (<r/>, <a h/>) and resumption of a session whose TCP
// connection broke, within resume_timeout, by a new stream of the same account.
//
// Counting. Inbound, a stanza counts as handled once the c2s reading goroutine has
// run it through the user-send chain and routed it (module.Env.OnStanzaHandled); as
// mod_mam's send hook returns only when the message's archive records are committed,
// an <a h/> the server sends covers only durably archived messages. Outbound, every
// stanza for an enabled session goes through this module's receive hook, last in the
// chain: it is kept in a buffer until the client acknowledges it and then written,
// followed by <r/> every ack_freq stanzas.
//
// Resumption. With resume='true' the session gets an id; when its connection breaks
// without </stream:stream> the session stays bound, detached, still buffering what
// is delivered to it, for resume_timeout. <resume previd h/> on a new stream of the
// same account, after SASL and before bind, takes it over: <resumed h previd/>, then
// the stanzas the client had not acknowledged. Ids live in the memory of the node
// holding the session and name the node that issued them: a <resume/> on another
// node of the cluster fetches the session from there over the mesh (cluster.go).
//
// A session that ends without being resumed (timeout, </stream:stream>, a stream
// error) re-routes its unacknowledged stanzas as XEP-0198 section 5 says: a message is
// routed again to its full JID, which the router (RFC 6121 section 8.5.3.2.1) hands to
// another resource, to offline storage (mod_offline), or bounces with
// <service-unavailable/>; an IQ get/set is answered with <service-unavailable/>;
// presence is dropped (it is state, re-sent on the next login).
package sm

import (
	"strconv"
	"sync"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Name is the module's name in the configuration.
const Name = "mod_stream_management"

// NS is the XEP-0198 namespace.
const NS = "urn:xmpp:sm:3"

// MongooseIM's defaults.
const (
	DefaultBufferMax     = 100
	DefaultAckFreq       = 1
	DefaultResumeTimeout = 600 * time.Second
)

// PrioSM places the receive hook after every other one (CSI's PrioLast included):
// what it buffers and counts is exactly what goes to the client.
const PrioSM = module.PrioLast + 5

// Module is mod_stream_management. Options: buffer_max (default 100; 0 or less
// means unbounded, MongooseIM's "infinity"), ack_freq (default 1; 0 or less: never
// request acks), resume_timeout in seconds (default 600).
var Module = module.Module{Name: Name, Start: start}

// Texts of the stream errors, as MongooseIM words them.
const (
	TextHBeyond   = "h beyond what was sent"
	TextTooMany   = "too many unacked stanzas"
	nsStanzaError = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

type key struct{}

type mod struct {
	env       *module.Env
	bufferMax int
	ackFreq   int
	timeout   time.Duration

	tag string // this node's tag in the ids (cluster.go)

	mu  sync.Mutex
	ids map[string]*state // resumable sessions by id
}

func start(env *module.Env, opts module.Options) error {
	m := &mod{env: env, ids: map[string]*state{},
		bufferMax: opts.Int("buffer_max", DefaultBufferMax),
		ackFreq:   opts.Int("ack_freq", DefaultAckFreq),
		timeout:   time.Duration(opts.Int("resume_timeout", int(DefaultResumeTimeout/time.Second))) * time.Second,
	}
	// MongooseIM's words for "no limit" and "no ack requests".
	if opts.String("buffer_max", "") == "infinity" {
		m.bufferMax = 0
	}
	if opts.String("ack_freq", "") == "never" {
		m.ackFreq = 0
	}
	if m.timeout <= 0 {
		m.timeout = DefaultResumeTimeout
	}
	env.OnStreamFeatures(func(stage module.Stage) []*xmlstream.Element {
		if stage != module.StagePostAuth {
			return nil
		}
		return []*xmlstream.Element{xmlstream.NewElement(NS, "sm")}
	})
	env.OnNonza(NS, m.nonza)
	env.OnPreBindNonza(NS, m.preBind)
	env.OnStanzaHandled(m.handled)
	env.OnUserReceive(PrioSM, m.receive)
	env.OnConnectionLost(m.lost)
	env.OnSessionClosed(m.closed)
	env.OnStop(m.stop)
	m.tag = nodeTag("")
	if cl := env.Cluster(); cl != nil {
		m.tag = nodeTag(cl.Self())
		cl.Handle(m.service(), m.handle)
	}
	return nil
}

// state is one session's stream management. Counters are XEP-0198's h values,
// modulo 2^32: out - acked == len(buf) at all times.
type state struct {
	mu        sync.Mutex
	id        string         // "" unless resumable
	sess      module.Session // the session of the current stream
	owner     jid.JID
	in        uint32 // stanzas handled from the client
	out       uint32 // stanzas sent (or buffered) for the client
	acked     uint32 // last h the client sent
	buf       []*xmlstream.Element
	detached  bool
	ended     bool
	timer     *time.Timer
	stoppedBy bool // the session is being stopped for a full buffer

	// Handover to another node (cluster.go).
	handing   string      // the node taking the session over, between take and commit
	snap      int         // len(buf) when the state was sent to it
	handTimer *time.Timer // ends the session if the handover never completes
	movedTo   string      // the node the session moved to, once committed
}

func stateOf(s module.Session) *state {
	st, _ := s.Value(key{}).(*state)
	return st
}

// failed builds <failed xmlns='urn:xmpp:sm:3'><cond xmlns=stanzas/></failed>.
func failed(cond string) *xmlstream.Element {
	f := xmlstream.NewElement(NS, "failed")
	f.AddChild(xmlstream.NewElement(nsStanzaError, cond))
	return f
}

func ackEl(h uint32) *xmlstream.Element {
	return xmlstream.NewElement(NS, "a", xmlstream.Attr{Local: "h", Value: strconv.FormatUint(uint64(h), 10)})
}

func write(s module.Session, el *xmlstream.Element) bool {
	w, ok := s.(module.RawWriter)
	return ok && w.WriteRaw(el)
}

func hBeyond() error {
	return &xmlstream.StreamError{Condition: "undefined-condition", Text: TextHBeyond, Offset: -1}
}

// parseH parses an h attribute (xs:unsignedInt).
func parseH(el *xmlstream.Element) (uint32, bool) {
	n, err := strconv.ParseUint(el.Attr("h"), 10, 32)
	return uint32(n), err == nil
}

// ackLocked applies the client's h: the buffer's acknowledged head is dropped. An h
// acknowledging more than was sent is an error (XEP-0198 section 4).
func (st *state) ackLocked(h uint32) error {
	n := h - st.acked
	if n > uint32(len(st.buf)) {
		return hBeyond()
	}
	clear(st.buf[:n])
	st.buf = st.buf[n:]
	st.acked = h
	return nil
}
