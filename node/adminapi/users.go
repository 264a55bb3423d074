package adminapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/store"
)

// Users follow mongoose_admin_api_users and mongoose_account_api of MongooseIM 6.5.0,
// whose messages name the JID and the node.

func (a *api) listUsers(w http.ResponseWriter, r *http.Request) error {
	name, err := domainName(r)
	if err != nil {
		return err
	}
	users, err := a.b.ListUsers(name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, users)
	return nil
}

func (a *api) postUser(w http.ResponseWriter, r *http.Request) error {
	domain := r.PathValue("domain")
	body, err := parseBody(r)
	if err != nil {
		return err
	}
	user, err := field[string](body, "username", "Missing user name")
	if err != nil {
		return err
	}
	pw, err := field[string](body, "password", "Missing password")
	if err != nil {
		return err
	}
	j, err := a.b.RegisterUser(r.Context(), domain, user, pw)
	switch {
	case errors.Is(err, node.ErrInvalidDomain), errors.Is(err, node.ErrInvalidUser):
		return errorf(http.StatusBadRequest, "Invalid jid %s@%s", user, domain)
	case errors.Is(err, store.ErrUserExists):
		return errorf(http.StatusForbidden, "User %s already registered at node %s", j, a.b.Name())
	case errors.Is(err, node.ErrNoLeader):
		return err
	case err != nil:
		return errorf(http.StatusForbidden, "Can't register user %s@%s at node %s: %s", user, domain, a.b.Name(), reason(err))
	}
	w.Header().Set("Location", fmt.Sprintf("%s/%s", r.URL.Path, url.PathEscape(j.Local())))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, "User %s successfully registered", j)
	return nil
}

func reason(err error) string {
	switch {
	case errors.Is(err, store.ErrDomainDisabled):
		return "domain is unknown or disabled"
	case errors.Is(err, node.ErrEmptyPassword):
		return "empty password"
	case errors.Is(err, store.ErrTooManyUsers):
		return "too many users in the domain"
	}
	return err.Error()
}

func (a *api) putUser(w http.ResponseWriter, r *http.Request) error {
	body, err := parseBody(r)
	if err != nil {
		return err
	}
	pw, err := field[string](body, "newpass", "Missing new password")
	if err != nil {
		return err
	}
	err = a.b.ChangePassword(r.Context(), r.PathValue("domain"), r.PathValue("username"), pw)
	switch {
	case errors.Is(err, node.ErrEmptyPassword):
		return errorf(http.StatusBadRequest, "Empty password")
	case errors.Is(err, node.ErrInvalidDomain), errors.Is(err, node.ErrInvalidUser):
		return errorf(http.StatusBadRequest, "Invalid jid")
	case errors.Is(err, node.ErrNoLeader):
		return err
	case err != nil:
		return errorf(http.StatusForbidden, "Password change not allowed")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) deleteUser(w http.ResponseWriter, r *http.Request) error {
	err := a.b.RemoveUser(r.Context(), r.PathValue("domain"), r.PathValue("username"))
	switch {
	case errors.Is(err, node.ErrInvalidDomain), errors.Is(err, node.ErrInvalidUser):
		return errorf(http.StatusBadRequest, "Invalid jid")
	case errors.Is(err, node.ErrNoLeader):
		return err
	case err != nil:
		return errorf(http.StatusForbidden, "User does not exist or you are not authorised properly")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
