package apiclient

import (
	"net/http"
)

// Request bodies of the user endpoints.
type (
	AddUserRequest struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	ChangePasswordRequest struct {
		NewPass string `json:"newpass"`
	}
)

func usersPath(domain string) (string, error) {
	seg, err := escape("domain", domain)
	if err != nil {
		return "", err
	}
	return "/users/" + seg, nil
}

func userPath(domain, user string) (string, error) {
	p, err := usersPath(domain)
	if err != nil {
		return "", err
	}
	seg, err := escape("user", user)
	if err != nil {
		return "", err
	}
	return p + "/" + seg, nil
}

// AddUser registers user@domain. A taken name gives an error matching ErrDuplicate.
func (c *Client) AddUser(domain, user, password string) error {
	p, err := usersPath(domain)
	if err != nil {
		return err
	}
	// The 201 body is a human sentence ("User ... successfully registered"); nothing to decode.
	err = c.do(http.MethodPost, p, AddUserRequest{Username: user, Password: password}, nil)
	return err
}

// RemoveUser deletes user@domain and its data.
func (c *Client) RemoveUser(domain, user string) error {
	p, err := userPath(domain, user)
	if err != nil {
		return err
	}
	err = c.do(http.MethodDelete, p, nil, nil)
	return err
}

// ListUsers returns the bare JIDs registered in domain, sorted. The result is never nil.
func (c *Client) ListUsers(domain string) ([]string, error) {
	p, err := usersPath(domain)
	if err != nil {
		return nil, err
	}
	out := []string{}
	if err := c.do(http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// ChangePassword sets a new password for user@domain.
func (c *Client) ChangePassword(domain, user, newPassword string) error {
	p, err := userPath(domain, user)
	if err != nil {
		return err
	}
	err = c.do(http.MethodPut, p, ChangePasswordRequest{NewPass: newPassword}, nil)
	return err
}
