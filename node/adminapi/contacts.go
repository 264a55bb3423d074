package adminapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/roster"
)

// Contacts follow mongoose_admin_api_contacts and mod_roster_api of MongooseIM 6.5.0:
// {user} and {contact} are JIDs; successful writes answer 204; every failure carries
// MongooseIM's message. Beyond MongooseIM, the subscription action also takes
// "unsubscribe" and "unsubscribed" (MongooseIM answers "Invalid action" to them).

// Contacts is what /contacts needs; *roster.Service implements it.
type Contacts interface {
	ListContacts(user jid.JID) ([]roster.Contact, error)
	AddContact(ctx context.Context, user, contact jid.JID, name string, groups []string) error
	Subscription(ctx context.Context, user, contact jid.JID, typ string) error
	DeleteContact(ctx context.Context, user, contact jid.JID) error
	Connect(ctx context.Context, a, b jid.JID) error
	Disconnect(ctx context.Context, a, b jid.JID) error
}

func (a *api) contactRoutes(route func(string, func(http.ResponseWriter, *http.Request) error)) {
	// MongooseIM's route is /contacts/:user/[:contact]: every method accepts both
	// forms, and the handlers decide what a missing contact means.
	for _, p := range []string{"/contacts/{user}", "/contacts/{user}/{contact}"} {
		route("GET "+p, a.listContacts)
		route("POST "+p, a.addContact)
		route("PUT "+p, a.putContact)
		route("DELETE "+p, a.deleteContact)
	}
	route("PUT /contacts/{user}/{contact}/manage", a.manageContact)
}

// pathJID parses a JID from the path; missing and invalid ones get MongooseIM's
// messages.
func pathJID(r *http.Request, name, missing, invalid string) (jid.JID, error) {
	v := r.PathValue(name)
	if v == "" {
		return jid.JID{}, errorf(http.StatusBadRequest, "%s", missing)
	}
	j, err := jid.Parse(v)
	if err != nil {
		return jid.JID{}, errorf(http.StatusBadRequest, "%s", invalid)
	}
	return j, nil
}

func userJID(r *http.Request) (jid.JID, error) {
	return pathJID(r, "user", "Invalid user JID", "Invalid user JID")
}

func contactJID(r *http.Request) (jid.JID, error) {
	return pathJID(r, "contact", "Missing contact JID", "Invalid contact JID")
}

// userAndContact reads /contacts/{user}/{contact}, the user first (MongooseIM's order).
func userAndContact(r *http.Request) (user, contact jid.JID, err error) {
	if user, err = userJID(r); err != nil {
		return user, contact, err
	}
	contact, err = contactJID(r)
	return user, contact, err
}

// contactError maps the roster service's errors to MongooseIM's answers.
func contactError(err error) error {
	var unf *roster.UserNotFoundError
	var cnf *roster.ContactNotFoundError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, roster.ErrUnknownDomain), errors.As(err, &unf), errors.As(err, &cnf):
		return errorf(http.StatusNotFound, "%s", err.Error())
	case errors.Is(err, roster.ErrBadAction):
		return errorf(http.StatusBadRequest, "Invalid action")
	}
	return err
}

func (a *api) listContacts(w http.ResponseWriter, r *http.Request) error {
	user, err := userJID(r)
	if err != nil {
		return err
	}
	cs, err := a.cfg.Contacts.ListContacts(user.Bare())
	if err != nil {
		return contactError(err)
	}
	writeJSON(w, http.StatusOK, cs)
	return nil
}

func (a *api) addContact(w http.ResponseWriter, r *http.Request) error {
	user, err := userJID(r)
	if err != nil {
		return err
	}
	body, err := parseBody(r)
	if err != nil {
		return err
	}
	raw, err := field[string](body, "jid", "Missing JID")
	if err != nil {
		return err
	}
	contact, err := jid.Parse(raw)
	if err != nil {
		return errorf(http.StatusBadRequest, "Invalid JID")
	}
	if err := contactError(a.cfg.Contacts.AddContact(r.Context(), user.Bare(), contact.Bare(), "", nil)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// action reads the body's action; manage selects the /manage actions.
func action(r *http.Request, manage bool) (string, error) {
	body, err := parseBody(r)
	if err != nil {
		return "", err
	}
	act, err := field[string](body, "action", "Missing action")
	if err != nil {
		return "", err
	}
	valid := map[string]bool{"subscribe": !manage, "subscribed": !manage, "unsubscribe": !manage,
		"unsubscribed": !manage, "connect": manage, "disconnect": manage}
	if !valid[act] {
		return "", errorf(http.StatusBadRequest, "Invalid action")
	}
	return act, nil
}

func (a *api) putContact(w http.ResponseWriter, r *http.Request) error {
	user, contact, err := userAndContact(r)
	if err != nil {
		return err
	}
	act, err := action(r, false)
	if err != nil {
		return err
	}
	if err := contactError(a.cfg.Contacts.Subscription(r.Context(), user.Bare(), contact.Bare(), act)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) manageContact(w http.ResponseWriter, r *http.Request) error {
	user, contact, err := userAndContact(r)
	if err != nil {
		return err
	}
	act, err := action(r, true)
	if err != nil {
		return err
	}
	op := a.cfg.Contacts.Connect
	if act == "disconnect" {
		op = a.cfg.Contacts.Disconnect
	}
	if err := contactError(op(r.Context(), user.Bare(), contact.Bare())); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) deleteContact(w http.ResponseWriter, r *http.Request) error {
	user, contact, err := userAndContact(r)
	if err != nil {
		return err
	}
	if err := contactError(a.cfg.Contacts.DeleteContact(r.Context(), user.Bare(), contact.Bare())); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
