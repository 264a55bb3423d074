package apiclient

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinels for errors.Is. An *APIError matches the sentinel that describes its status, so
// callers can branch on the kind of failure without comparing message strings.
var (
	// ErrDuplicate: the thing to create already exists (409, or the 403 "already
	// registered" that the users endpoint returns for a taken account).
	ErrDuplicate = errors.New("already exists")
	// ErrNotFound: the domain, user or password does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the API refused the credentials (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrUnreachable: no HTTP response at all (connection refused, DNS, timeout, TLS).
	ErrUnreachable = errors.New("admin API unreachable")
)

// APIError is a non-2xx answer from the admin API. Message is the server's reason: the
// JSON string of the body, or the HTTP status text when the body is empty.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

// Is maps the status onto the package sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrDuplicate:
		// MongooseIM reports a taken user name as 403, not 409; the message is the only
		// thing that tells it apart from other 403s ("Password change not allowed", ...).
		return e.Status == http.StatusConflict ||
			(e.Status == http.StatusForbidden && strings.Contains(e.Message, "already registered"))
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	}
	return false
}

// IsDuplicate reports whether err says the domain or user already exists.
func IsDuplicate(err error) bool { return errors.Is(err, ErrDuplicate) }

// IsNotFound reports whether err is a 404 from the API.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// UnreachableError is returned when a request got no HTTP response.
type UnreachableError struct {
	URL    string // the configured base URL, as given to New
	Reason string // short cause, e.g. "connection refused"
	Err    error  // the underlying transport error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the admin API at %s: %s", e.URL, e.Reason)
}

func (e *UnreachableError) Unwrap() []error { return []error{ErrUnreachable, e.Err} }
