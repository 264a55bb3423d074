package roster

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
)

// Roster operations for administrators, following MongooseIM 6.5.0's mod_roster_api
// (the REST /contacts endpoints and their messages). They work on any served domain,
// whether or not its host type runs mod_roster, as MongooseIM's do.

// Contact is one roster item as the admin API lists it.
type Contact struct {
	JID          string `json:"jid"`
	Subscription string `json:"subscription"`
	// Ask is MongooseIM's: none, in, out or both (pending requests each way).
	Ask string `json:"ask"`
}

// Errors of the admin operations; their texts are MongooseIM's.
var (
	ErrUnknownDomain = errors.New("Domain not found")
	ErrBadAction     = errors.New("Invalid action")
)

// UserNotFoundError names an account that does not exist.
type UserNotFoundError struct{ JID jid.JID }

func (e *UserNotFoundError) Error() string { return fmt.Sprintf("The user %s does not exist", e.JID) }

// ContactNotFoundError names a contact missing from a roster.
type ContactNotFoundError struct{ JID jid.JID }

func (e *ContactNotFoundError) Error() string {
	return fmt.Sprintf("Cannot remove %s contact that does not exist", e.JID)
}

func (s *Service) checkDomain(user jid.JID) error {
	if _, ok := s.host.Directory().HostTypeOf(user.Domain()); !ok {
		return ErrUnknownDomain
	}
	return nil
}

func (s *Service) checkUsers(js ...jid.JID) error {
	for _, j := range js {
		if j.Local() == "" || !s.host.Accounts().UserExists(j.Domain(), j.Local()) {
			return &UserNotFoundError{j.Bare()}
		}
	}
	return nil
}

func ask(it store.RosterItem) string {
	switch {
	case it.PendingOut && it.PendingIn:
		return "both"
	case it.PendingOut:
		return "out"
	case it.PendingIn:
		return "in"
	}
	return "none"
}

// ListContacts returns the whole roster of user, pending requests included.
func (s *Service) ListContacts(user jid.JID) ([]Contact, error) {
	if err := s.checkDomain(user); err != nil {
		return nil, err
	}
	out := []Contact{}
	err := s.host.Store().View(func(tx *bolt.Tx) error {
		return store.ForEachRosterItem(tx, user.Domain(), user.Local(), func(it store.RosterItem) error {
			out = append(out, Contact{JID: it.Contact, Subscription: it.Sub.String(), Ask: ask(it)})
			return nil
		})
	})
	return out, wrap("list", err)
}

// AddContact puts contact in user's roster with a name and groups, as a roster set
// does (both accounts must exist).
func (s *Service) AddContact(ctx context.Context, user, contact jid.JID, name string, groups []string) error {
	if err := s.checkDomain(user); err != nil {
		return err
	}
	if err := s.checkUsers(user, contact); err != nil {
		return err
	}
	_, _, err := s.change(ctx, user.Bare(), contact.Bare().String(), func(cur store.RosterItem) (store.RosterItem, error) {
		cur.Name, cur.Groups, cur.Listed = name, groups, true
		return cur, nil
	})
	return wrap("add", err)
}

// Subscription sends a subscription stanza (subscribe, subscribed, unsubscribe or
// unsubscribed) from user to contact as if user's client had sent it.
func (s *Service) Subscription(ctx context.Context, user, contact jid.JID, typ string) error {
	if !isSubscriptionType(typ) {
		return ErrBadAction
	}
	if err := s.checkDomain(user); err != nil {
		return err
	}
	err := s.outbound(ctx, user.Bare(), contact.Bare(), typ, nil)
	if errors.Is(err, store.ErrUserNotFound) {
		return &UserNotFoundError{user.Bare()}
	}
	return wrap("subscription", err)
}

// DeleteContact removes contact from user's roster, cancelling subscriptions both ways.
func (s *Service) DeleteContact(ctx context.Context, user, contact jid.JID) error {
	if err := s.checkDomain(user); err != nil {
		return err
	}
	err := s.remove(ctx, user.Bare(), contact.Bare(), false)
	if errors.Is(err, errItemNotFound) {
		return &ContactNotFoundError{contact.Bare()}
	}
	return wrap("delete", err)
}

// Connect makes a and b subscribed to each other ("both"), by the sequence of roster
// sets and subscription stanzas MongooseIM's set_mutual_subscription uses.
func (s *Service) Connect(ctx context.Context, a, b jid.JID) error {
	steps := []func() error{
		func() error { return s.AddContact(ctx, a, b, "", nil) },
		func() error { return s.AddContact(ctx, b, a, "", nil) },
		func() error { return s.Subscription(ctx, a, b, typeSubscribe) },
		func() error { return s.Subscription(ctx, b, a, typeSubscribe) },
		func() error { return s.Subscription(ctx, a, b, typeSubscribed) },
		func() error { return s.Subscription(ctx, b, a, typeSubscribed) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// Disconnect removes a and b from each other's rosters.
func (s *Service) Disconnect(ctx context.Context, a, b jid.JID) error {
	if err := s.DeleteContact(ctx, a, b); err != nil {
		return err
	}
	return s.DeleteContact(ctx, b, a)
}

// RemoveUser deletes a removed account's roster and tells its contacts that the
// subscriptions are gone. Call it once per removal (on one node).
func (s *Service) RemoveUser(ctx context.Context, domain, user string) error {
	u, err := jid.New(user, domain, "")
	if err != nil {
		return wrap("remove user", err)
	}
	var items []store.RosterItem
	if err := s.host.Store().View(func(tx *bolt.Tx) error {
		return store.ForEachRosterItem(tx, domain, user, func(it store.RosterItem) error {
			items = append(items, it)
			return nil
		})
	}); err != nil {
		return wrap("remove user", err)
	}
	if len(items) == 0 {
		return nil
	}
	if _, err := s.host.Store().Apply(ctx, &store.RemoveRoster{Domain: domain, User: user}); err != nil {
		return wrap("remove user", err)
	}
	for _, it := range items {
		if c, err := jid.Parse(it.Contact); err == nil {
			s.cancelBoth(u, c, it)
		}
	}
	return nil
}
