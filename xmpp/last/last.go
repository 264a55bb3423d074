// Package last is mod_last: last activity (XEP-0012, jabber:iq:last). The server JID
// answers with its uptime; an account answers with the time since its last logout and
// the status of its last unavailable presence, to itself and to contacts subscribed to
// its presence. The logout is recorded in the replicated store when a user's last
// session closes.
package last

import (
	"context"
	"errors"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// NS is the jabber:iq:last namespace.
const NS = "jabber:iq:last"

// Module is mod_last.
var Module = module.Module{Name: "mod_last", Start: start}

// statusKey holds the status of the session's last unavailable broadcast presence.
type statusKey struct{}

func start(env *module.Env, _ module.Options) error {
	started := time.Now()
	env.HandleIQ(NS, router.ToBoth, func(ctx context.Context, q *router.IQ) *xmlstream.Element {
		return handle(env, started, q)
	})
	env.OnUserSend(module.PrioDefault, func(s module.Session, el *xmlstream.Element) module.Verdict {
		if el.Local == "presence" && el.Attr("to") == "" {
			if el.Attr("type") == "unavailable" {
				var st string
				if c := el.Child(stanza.NSClient, "status"); c != nil {
					st = c.Text()
				}
				s.SetValue(statusKey{}, st)
			} else if el.Attr("type") == "" {
				s.SetValue(statusKey{}, nil)
			}
		}
		return module.Continue
	})
	env.PortableValue("last.status", statusKey{},
		func(v any) ([]byte, error) { return []byte(v.(string)), nil },
		func(b []byte) (any, error) { return string(b), nil })
	env.OnSessionClosed(func(s module.Session, _ module.Close) {
		closed(env, s)
	})
	return nil
}

// closed records the logout when the user's last session ends (the closing session is
// already unbound, so any session left is another one, here or on another node).
func closed(env *module.Env, s module.Session) {
	j := s.JID()
	if len(env.Router().Sessions(j.Domain(), j.Local())) > 0 {
		return
	}
	if !env.SameTenant(s) {
		// The domain's removal closed the session; the store would refuse the
		// write, unless the name was already added again for a new tenant.
		return
	}
	st, _ := s.Value(statusKey{}).(string)
	ctx, cancel := context.WithTimeout(env.Context(), 10*time.Second)
	defer cancel()
	m := &store.SetLast{Domain: j.Domain(), User: j.Local(), Time: time.Now().Unix(), Status: st,
		Static: env.Directory().IsStatic(j.Domain())}
	_, err := env.Store().Apply(ctx, m)
	switch {
	case errors.Is(err, store.ErrDomainDisabled):
		// The domain is being removed: that is why the session closed.
		env.Logger().Debug("last activity not recorded", "jid", j.Bare().String(), "error", err)
	case err != nil:
		env.Logger().Warn("last activity not recorded", "jid", j.Bare().String(), "error", err)
	}
}

func reply(q *router.IQ, seconds int64, status string) *xmlstream.Element {
	r := xmlstream.NewElement(NS, "query", xmlstream.Attr{Local: "seconds", Value: strconv.FormatInt(max(seconds, 0), 10)})
	if status != "" {
		r.AddText(status)
	}
	return q.Result(r)
}

func handle(env *module.Env, started time.Time, q *router.IQ) *xmlstream.Element {
	if q.El.Attr("type") != "get" || q.Payload.Local != "query" {
		return q.Error(stanza.BadRequest, "")
	}
	if q.Target == router.ToServer {
		// XEP-0012 section 5: a server's last activity is its uptime.
		return reply(q, int64(time.Since(started)/time.Second), "")
	}
	domain, user := q.To.Domain(), q.To.Local()
	var allowed, found bool
	var la store.LastActivity
	err := env.Store().View(func(tx *bolt.Tx) error {
		allowed = q.From.Bare() == q.To
		if !allowed {
			it, ok, err := store.GetRosterItem(tx, domain, user, q.From.Bare().String())
			if err != nil {
				return err
			}
			allowed = ok && it.Sub.HasFrom()
		}
		la, found = store.GetLast(tx, domain, user)
		return nil
	})
	if err != nil {
		env.Logger().Error("last activity read failed", "error", err)
		return q.Error(stanza.InternalServerError, "")
	}
	// XEP-0012 section 4: only an entity subscribed to the user's presence may know.
	if !allowed {
		return q.Error(stanza.Forbidden, "")
	}
	// An available resource means the user is online now: 0 seconds.
	for _, s := range env.Router().Sessions(domain, user) {
		if p, ok := s.(router.Prioritized); ok {
			if _, avail := p.Priority(); avail {
				return reply(q, 0, "")
			}
		}
	}
	if !found {
		// Never logged out since the store began: MongooseIM's answer.
		return q.Error(stanza.ServiceUnavailable, "")
	}
	return reply(q, time.Now().Unix()-la.Time, la.Status)
}
