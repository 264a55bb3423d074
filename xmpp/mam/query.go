package mam

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Error texts, as MongooseIM's.
const (
	textBadID    = "Invalid stanza ID provided"
	textNotFound = "Message with specified ID is not found"
	textFlood    = "The action is cancelled because of flooding."
)

// queryError is a query refused with a stanza error.
type queryError struct {
	cond stanza.Condition
	text string
}

func (e *queryError) Error() string { return e.text }

func badRequest(text string) error { return &queryError{stanza.BadRequest, text} }

var errBadID = &queryError{stanza.NotAcceptable, textBadID}

// shaped takes a token of the action's shapers for user; false means flooding.
func (m *mod) shaped(user jid.JID, action string) bool {
	return m.svc.shapers.allow(m.env.HostType(), user, action, time.Now())
}

func (m *mod) iq(ctx context.Context, iq *router.IQ) *xmlstream.Element {
	p := iq.Payload
	set := iq.El.Attr("type") == "set"
	rules := rulesFor(p, set)
	if rules == nil {
		return iq.Error(stanza.BadRequest, "")
	}
	// iq.To is the archive's owner (an account of this host type); the sender is
	// the requester, who is also the one shaped.
	if iq.Target != router.ToAccount || !m.permitted(rules, iq.To.Domain(), iq.From, iq.OwnAccount()) {
		return iq.Error(stanza.NotAllowed, textNotAllowed)
	}
	requester := iq.From.Bare()
	switch {
	case p.Local == "query" && !set:
		return iq.Result(queryForm(p.Space))
	case p.Local == "query":
		if !m.shaped(requester, ActionLookup) {
			return iq.Error(stanza.ResourceConstraint, textFlood)
		}
		m.pmLookups.Inc()
		return m.query(iq)
	case p.Local == "prefs" && !set:
		if !m.shaped(requester, ActionGetPrefs) {
			return iq.Error(stanza.ResourceConstraint, textFlood)
		}
		return iq.Result(m.prefsElement(p.Space, iq.To))
	case p.Local == "prefs":
		if !m.shaped(requester, ActionSetPrefs) {
			return iq.Error(stanza.ResourceConstraint, textFlood)
		}
		return m.setPrefs(ctx, iq)
	}
	return iq.Result(m.metadata(iq.To))
}

// queryForm is the XEP-0313 search form (section 5.1.1), with MongooseIM's fields.
func queryForm(ns string) *xmlstream.Element {
	q := xmlstream.NewElement(ns, "query")
	x := xmlstream.NewElement(NSData, "x", xmlstream.Attr{Local: "type", Value: "form"})
	field := func(v, typ string) *xmlstream.Element {
		f := xmlstream.NewElement(NSData, "field", xmlstream.Attr{Local: "var", Value: v},
			xmlstream.Attr{Local: "type", Value: typ})
		x.AddChild(f)
		return f
	}
	ft := field("FORM_TYPE", "hidden")
	val := xmlstream.NewElement(NSData, "value")
	val.AddText(ns)
	ft.AddChild(val)
	field("with", "jid-single")
	field("start", "text-single")
	field("end", "text-single")
	if ns == NS2 {
		field("before-id", "text-single")
		field("after-id", "text-single")
		field("ids", "list-multi")
	}
	q.AddChild(x)
	return q
}

// params is a parsed query.
type params struct {
	q       store.ArchiveQuery
	flip    bool
	queryID string
	empty   bool
}

// Known form fields. include-groupchat and simple are accepted: the PM archive holds
// no groupchat messages, and counts are cheap.
var knownFields = []string{"FORM_TYPE", "with", "start", "end", "before-id", "after-id",
	"from-id", "to-id", "ids", "include-groupchat", "simple"}

// archiveRef names one archive: its store keys (an account's domain and local part,
// or a room's parent domain and bare JID) and its owner's JID as results show it.
type archiveRef struct {
	domain, user, owner string
	defLimit, maxLimit  int
}

func (m *mod) parse(a archiveRef, p *xmlstream.Element) (params, error) {
	out := params{queryID: p.Attr("queryid"), q: store.ArchiveQuery{Domain: a.domain, User: a.user}}
	lo, hi := uint64(0), uint64(math.MaxUint64)
	raise := func(v uint64) { lo = max(lo, v) }
	lower := func(v uint64) { hi = min(hi, v) }
	if x := p.Child(NSData, "x"); x != nil {
		if t := x.Attr("type"); t != "submit" && t != "" {
			return out, badRequest("The form must be of type submit")
		}
		for _, f := range x.ChildrenNamed(NSData, "field") {
			name := f.Attr("var")
			if !slices.Contains(knownFields, name) {
				return out, badRequest("Unknown field: " + name)
			}
			var vals []string
			for _, v := range f.ChildrenNamed(NSData, "value") {
				vals = append(vals, v.Text())
			}
			one := ""
			if len(vals) > 0 {
				one = vals[0]
			}
			if name != "ids" && len(vals) > 1 {
				return out, badRequest("Field " + name + " has several values")
			}
			switch name {
			case "FORM_TYPE":
				if one != p.Space && one != "" {
					return out, badRequest("Unknown FORM_TYPE")
				}
			case "with":
				j, err := jid.Parse(one)
				if err != nil || one == "" {
					return out, badRequest("Invalid with field")
				}
				out.q.With = j.Bare().String()
			case "start", "end":
				t, err := time.Parse(time.RFC3339Nano, one)
				if err != nil {
					return out, badRequest("Invalid " + name + " field")
				}
				if name == "start" {
					raise(IDFromTime(t))
				} else {
					lower(IDFromTime(t) | 0xFF)
				}
			case "before-id", "after-id", "from-id", "to-id":
				id, err := DecodeID(one)
				if err != nil {
					return out, errBadID
				}
				switch name {
				case "before-id":
					if id == 0 {
						return out, errBadID
					}
					lower(id - 1)
				case "after-id":
					raise(id + 1)
				case "from-id":
					raise(id)
				case "to-id":
					lower(id)
				}
			case "include-groupchat":
				// XEP-0313's groupchat field: the PM archive never holds groupchat
				// messages (they are archived once per room), so both values select
				// the same messages; only the value's syntax is checked.
				switch one {
				case "true", "false", "1", "0":
				default:
					return out, badRequest("Invalid include-groupchat field")
				}
			case "ids":
				for _, v := range vals {
					id, err := DecodeID(v)
					if err != nil {
						return out, errBadID
					}
					out.q.IDs = append(out.q.IDs, id)
				}
				if len(vals) == 0 {
					return out, badRequest("Empty ids field")
				}
			}
		}
	}
	// An empty range (or one ending before the first possible id) matches nothing.
	out.empty = lo > hi || hi == 0
	out.q.From = lo
	if hi != math.MaxUint64 {
		out.q.To = hi
	}
	out.q.Max = a.defLimit
	if set := p.Child(NSRSM, "set"); set != nil {
		if mx := set.Child(NSRSM, "max"); mx != nil {
			n, err := strconv.Atoi(strings.TrimSpace(mx.Text()))
			if err != nil || n < 0 {
				return out, badRequest("Invalid RSM max")
			}
			out.q.Max = n
		}
		if a := set.Child(NSRSM, "after"); a != nil {
			id, err := DecodeID(a.Text())
			if err != nil {
				return out, errBadID
			}
			out.q.After = id
		}
		if b := set.Child(NSRSM, "before"); b != nil {
			if b.Text() == "" {
				out.q.Last = true
			} else {
				id, err := DecodeID(b.Text())
				if err != nil {
					return out, errBadID
				}
				out.q.Before = id
			}
		}
		if set.Child(NSRSM, "index") != nil {
			return out, &queryError{stanza.FeatureNotImplemented, "RSM index is not supported"}
		}
	}
	out.q.Max = min(out.q.Max, a.maxLimit)
	out.flip = p.Child(p.Space, "flip-page") != nil
	return out, nil
}

// query answers an IQ set <query/>: the page's messages go to the querying session
// first, then the IQ result with <fin/>.
func (m *mod) query(iq *router.IQ) *xmlstream.Element {
	a := archiveRef{domain: iq.To.Domain(), user: iq.To.Local(), owner: iq.To.String(),
		defLimit: m.defLimit, maxLimit: m.maxLimit}
	deliver := func(el *xmlstream.Element) { _ = m.r.Deliver(el) }
	if iq.Session != nil {
		deliver = func(el *xmlstream.Element) { iq.Session.Deliver(el) }
	}
	return m.lookup(a, iq.From, iq.El, iq.Payload, deliver)
}

// lookup runs a query of archive a for the requester: results go through deliver,
// and the IQ result or error is returned.
func (m *mod) lookup(a archiveRef, requester jid.JID, el, payload *xmlstream.Element,
	deliver func(*xmlstream.Element)) *xmlstream.Element {
	pr, err := m.parse(a, payload)
	var page store.ArchivePage
	if err == nil && pr.empty {
		page.Complete = true
	} else if err == nil {
		err = m.st.View(func(tx *bolt.Tx) error {
			var qerr error
			page, qerr = store.QueryArchive(tx, pr.q)
			return qerr
		})
	}
	var qe *queryError
	switch {
	case errors.As(err, &qe):
		return stanza.ErrorReply(el, qe.cond, qe.text)
	case errors.Is(err, store.ErrMAMNotFound):
		return stanza.ErrorReply(el, stanza.ItemNotFound, textNotFound)
	case err != nil:
		m.env.Logger().Warn("archive query failed", "owner", a.owner, "error", err)
		return stanza.ErrorReply(el, stanza.InternalServerError, "")
	}
	msgs := page.Messages
	if pr.flip {
		msgs = slices.Clone(msgs)
		slices.Reverse(msgs)
	}
	ns := payload.Space
	for _, am := range msgs {
		res, err := resultMessage(ns, pr.queryID, a.owner, requester.String(), am)
		if err != nil {
			m.env.Logger().Warn("archived message unreadable", "owner", a.owner, "id", am.ID, "error", err)
			continue
		}
		deliver(res)
	}
	return stanza.Result(el, fin(ns, pr.queryID, page, msgs))
}

func resultMessage(ns, queryID, owner, to string, am store.ArchivedMessage) (*xmlstream.Element, error) {
	orig, err := module.ParseStanza([]byte(am.XML))
	if err != nil {
		return nil, err
	}
	msg := xmlstream.NewElement(stanza.NSClient, "message",
		xmlstream.Attr{Local: "from", Value: owner}, xmlstream.Attr{Local: "to", Value: to})
	res := xmlstream.NewElement(ns, "result", xmlstream.Attr{Local: "id", Value: EncodeID(am.ID)})
	if queryID != "" {
		res.SetAttr("queryid", queryID)
	}
	fwd := xmlstream.NewElement(NSForward, "forwarded")
	fwd.AddChild(xmlstream.NewElement(stanza.NSDelay, "delay",
		xmlstream.Attr{Local: "stamp", Value: IDTime(am.ID).Format("2006-01-02T15:04:05.000000Z")}))
	fwd.AddChild(orig)
	res.AddChild(fwd)
	msg.AddChild(res)
	return msg, nil
}

func fin(ns, queryID string, page store.ArchivePage, msgs []store.ArchivedMessage) *xmlstream.Element {
	f := xmlstream.NewElement(ns, "fin", xmlstream.Attr{Local: "complete", Value: strconv.FormatBool(page.Complete)})
	if ns == NS1 && queryID != "" {
		f.SetAttr("queryid", queryID)
	}
	set := xmlstream.NewElement(NSRSM, "set")
	if len(msgs) > 0 {
		first := xmlstream.NewElement(NSRSM, "first")
		first.AddText(EncodeID(msgs[0].ID))
		last := xmlstream.NewElement(NSRSM, "last")
		last.AddText(EncodeID(msgs[len(msgs)-1].ID))
		set.AddChild(first)
		set.AddChild(last)
	}
	count := xmlstream.NewElement(NSRSM, "count")
	count.AddText(strconv.Itoa(page.Count))
	set.AddChild(count)
	f.AddChild(set)
	return f
}

// metadata is XEP-0313 section 7.1: the first and last message of the archive.
func (m *mod) metadata(owner jid.JID) *xmlstream.Element {
	return m.metadataOf(archiveRef{domain: owner.Domain(), user: owner.Local()})
}

func (m *mod) metadataOf(a archiveRef) *xmlstream.Element {
	md := xmlstream.NewElement(NS2, "metadata")
	var first, last uint64
	var ok bool
	_ = m.st.View(func(tx *bolt.Tx) error {
		first, last, ok = store.ArchiveBounds(tx, a.domain, a.user)
		return nil
	})
	if !ok {
		return md
	}
	for _, b := range []struct {
		name string
		id   uint64
	}{{"start", first}, {"end", last}} {
		md.AddChild(xmlstream.NewElement(NS2, b.name, xmlstream.Attr{Local: "id", Value: EncodeID(b.id)},
			xmlstream.Attr{Local: "timestamp", Value: IDTime(b.id).Format("2006-01-02T15:04:05.000000Z")}))
	}
	return md
}
