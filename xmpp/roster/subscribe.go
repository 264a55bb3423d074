package roster

import (
	"context"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// userSend takes the subscription stanzas a client sends (RFC 6121 sections 3.1.2,
// 3.1.5, 3.2.2, 3.3.2): the user's roster changes first, then the stanza is routed from
// the user's bare JID to the contact's bare JID, where incoming handles it.
func (s *Service) userSend(sess module.Session, el *xmlstream.Element) module.Verdict {
	if el.Local != "presence" {
		return module.Continue
	}
	typ := el.Attr("type")
	if !isSubscriptionType(typ) {
		return module.Continue
	}
	to, err := jid.Parse(el.Attr("to"))
	if err != nil || el.Attr("to") == "" {
		// A subscription stanza without a contact has no meaning.
		return module.Stop
	}
	user, contact := sess.JID().Bare(), to.Bare()
	if user == contact {
		return module.Stop
	}
	if err := s.outbound(s.ctx(), user, contact, typ, el); err != nil {
		s.log.Error("roster: outbound subscription", "user", user, "contact", contact, "type", typ, "error", err)
		sess.Deliver(stanza.ErrorReply(el, stanza.InternalServerError, ""))
	}
	return module.Stop
}

// outbound applies a subscription stanza from user to contact to the user's roster
// and routes it if Appendix A.2 says so. el may be nil (the admin API).
func (s *Service) outbound(ctx context.Context, user, contact jid.JID, typ string, el *xmlstream.Element) error {
	var route bool
	before, after, err := s.change(ctx, user, contact.String(), func(cur store.RosterItem) (store.RosterItem, error) {
		next, r := outbound(cur, typ)
		route = r
		return next, nil
	})
	if err != nil {
		return err
	}
	if route {
		var out *xmlstream.Element
		if el != nil {
			// Section 3.1.2: stamped with the user's bare JID, sent to the bare JID.
			out = module.Readdress(el, user.String(), contact.String())
		} else {
			out = xmlstream.NewElement(stanza.NSClient, "presence", xmlstream.Attr{Local: "type", Value: typ},
				xmlstream.Attr{Local: "from", Value: user.String()}, xmlstream.Attr{Local: "to", Value: contact.String()})
		}
		if err := s.host.Router().Deliver(out); err != nil {
			s.log.Debug("roster: subscription not routed", "from", user, "to", contact, "error", err)
		}
	}
	s.presenceEffects(user, contact, before.Sub, after.Sub)
	return nil
}

// incoming handles subscription stanzas for a local account, the contact's side of
// RFC 6121 sections 3.1.3, 3.1.6, 3.2.3 and 3.3.3.
func (s *Service) incoming(from, to jid.JID, el *xmlstream.Element) (module.Verdict, *xmlstream.Element) {
	if el.Local != "presence" || to.Local() == "" {
		return module.Continue, nil
	}
	typ := el.Attr("type")
	if !isSubscriptionType(typ) {
		return module.Continue, nil
	}
	if to.Resource() != "" || from.Resource() != "" {
		// Subscriptions are between bare JIDs: handle it as addressed to and from
		// bare JIDs (section 3.1.3), on a second pass through the router.
		_ = s.host.Router().Deliver(module.Readdress(el, from.Bare().String(), to.Bare().String()))
		return module.Stop, nil
	}
	if from == to {
		return module.Stop, nil
	}
	// Section 8.5.1 / 3.1.3: for an account that does not exist the stanza is
	// silently ignored.
	if !s.host.Accounts().UserExists(to.Domain(), to.Local()) {
		return module.Stop, nil
	}
	if s.inbound(s.ctx(), to, from, typ, el) {
		return module.Continue, nil
	}
	return module.Stop, nil
}

// inbound applies a subscription stanza from contact to the user's roster (Appendix
// A.3) and reports whether the user's available resources get it.
func (s *Service) inbound(ctx context.Context, user, contact jid.JID, typ string, el *xmlstream.Element) bool {
	req := ""
	if typ == typeSubscribe && el != nil {
		req = storedRequest(el, contact, user)
	}
	var deliver bool
	var reply string
	before, after, err := s.change(ctx, user, contact.String(), func(cur store.RosterItem) (store.RosterItem, error) {
		next, d, r := inbound(cur, typ, req)
		deliver, reply = d, r
		return next, nil
	})
	if err != nil {
		s.log.Error("roster: inbound subscription", "user", user, "contact", contact, "type", typ, "error", err)
		return false
	}
	if reply != "" {
		s.sendSubscription(user, contact, reply)
	}
	s.presenceEffects(user, contact, before.Sub, after.Sub)
	return deliver
}
