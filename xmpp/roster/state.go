package roster

import "github.com/mongoose-go/mongoose-go/store"

// The subscription state machine of RFC 6121 Appendix A, as pure functions of a roster
// item. An item's state is its Sub plus PendingOut ("Pending Out") and PendingIn
// ("Pending In"); Approved is a pre-approval (section 3.4). The user's server applies
// outbound transitions when its user sends a subscription stanza, the contact's server
// applies inbound transitions when one arrives; here both servers are this one.

// Subscription stanza types.
const (
	typeSubscribe    = "subscribe"
	typeSubscribed   = "subscribed"
	typeUnsubscribe  = "unsubscribe"
	typeUnsubscribed = "unsubscribed"
)

func isSubscriptionType(t string) bool {
	switch t {
	case typeSubscribe, typeSubscribed, typeUnsubscribe, typeUnsubscribed:
		return true
	}
	return false
}

func addTo(s store.Subscription) store.Subscription {
	if s.HasFrom() {
		return store.SubBoth
	}
	return store.SubTo
}

func dropTo(s store.Subscription) store.Subscription {
	if s.HasFrom() {
		return store.SubFrom
	}
	return store.SubNone
}

func addFrom(s store.Subscription) store.Subscription {
	if s.HasTo() {
		return store.SubBoth
	}
	return store.SubFrom
}

func dropFrom(s store.Subscription) store.Subscription {
	if s.HasTo() {
		return store.SubTo
	}
	return store.SubNone
}

// outbound applies a subscription stanza the user sends to the contact (Appendix A.2)
// to the user's item for the contact. route says whether the stanza goes on to the
// contact.
func outbound(it store.RosterItem, typ string) (next store.RosterItem, route bool) {
	next = it
	switch typ {
	case typeSubscribe:
		// A.2.1: always routed (the contact's server may have lost its state); only
		// a user without a subscription starts waiting for one.
		if !it.Sub.HasTo() {
			next.PendingOut = true
		}
		next.Listed = true
		return next, true
	case typeUnsubscribe:
		// A.2.2: always routed; cancels the request or the subscription.
		next.PendingOut = false
		next.Sub = dropTo(it.Sub)
		return next, true
	case typeSubscribed:
		// A.2.3: approves a pending request; without one, and without a
		// subscription from the contact, it is a pre-approval (section 3.4), which
		// is not routed.
		switch {
		case it.PendingIn:
			next.PendingIn, next.Request, next.Approved = false, "", false
			next.Sub = addFrom(it.Sub)
			next.Listed = true
			return next, true
		case !it.Sub.HasFrom():
			next.Approved = true
			next.Listed = true
		}
		return next, false
	case typeUnsubscribed:
		// A.2.4: denies a pending request or cancels the contact's subscription; in
		// any other state it only cancels a pre-approval and is not routed.
		if it.PendingIn || it.Sub.HasFrom() {
			next.PendingIn, next.Request = false, ""
			next.Sub = dropFrom(it.Sub)
			next.Approved = false
			return next, true
		}
		next.Approved = false
		return next, false
	}
	return it, false
}

// inbound applies a subscription stanza from the contact (Appendix A.3) to the user's
// item for the contact. deliver says whether the user's available resources get it;
// autoReply is a subscription type the server sends back to the contact on the
// user's behalf ("subscribed" when the subscription already exists or was
// pre-approved, section 3.1.3). request is the stanza, kept with a pending request.
func inbound(it store.RosterItem, typ, request string) (next store.RosterItem, deliver bool, autoReply string) {
	next = it
	switch typ {
	case typeSubscribe:
		switch {
		case it.Sub.HasFrom():
			// Already subscribed: confirm again, do not bother the user.
			return next, false, typeSubscribed
		case it.Approved:
			// Pre-approved: the server approves at once (section 3.4).
			next.Approved, next.PendingIn, next.Request = false, false, ""
			next.Sub = addFrom(it.Sub)
			return next, false, typeSubscribed
		case it.PendingIn:
			return next, false, ""
		}
		next.PendingIn, next.Request = true, request
		return next, true, ""
	case typeUnsubscribe:
		if it.PendingIn || it.Sub.HasFrom() {
			next.PendingIn, next.Request = false, ""
			next.Sub = dropFrom(it.Sub)
			return next, true, ""
		}
		return next, false, ""
	case typeSubscribed:
		if it.PendingOut {
			next.PendingOut = false
			next.Sub = addTo(it.Sub)
			return next, true, ""
		}
		return next, false, ""
	case typeUnsubscribed:
		if it.PendingOut || it.Sub.HasTo() {
			next.PendingOut = false
			next.Sub = dropTo(it.Sub)
			return next, true, ""
		}
		return next, false, ""
	}
	return it, false, ""
}

// empty reports whether an item holds nothing worth keeping: no subscription, no
// pending request either way, no pre-approval, and the user never listed it.
func empty(it store.RosterItem) bool {
	return !it.Listed && it.Sub == store.SubNone && !it.PendingOut && !it.PendingIn && !it.Approved
}
