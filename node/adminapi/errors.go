package adminapi

import (
	"errors"
	"net/http"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/store"
)

// toHTTPError maps node and store errors to MongooseIM's status codes and messages
// (mongoose_admin_api error types: bad_request 400, denied 403, not_found 404,
// duplicate 409, internal 500).
func toHTTPError(err error) *httpError {
	var ce *store.CodeError
	var pe *node.PurgeError
	switch {
	case errors.As(err, &pe):
		// A removal step failed inside the server: not the caller's fault, whatever
		// the step's own error says. The domain stays deleting; DELETE resumes.
		return &httpError{http.StatusInternalServerError, "Internal error"}
	case errors.Is(err, node.ErrInvalidDomain):
		return &httpError{http.StatusBadRequest, "Invalid domain name"}
	case errors.Is(err, node.ErrStatic), errors.Is(err, node.ErrUnknownHostType),
		errors.Is(err, store.ErrWrongHostType), errors.Is(err, store.ErrDomainDeleted):
		return &httpError{http.StatusForbidden, err.Error()}
	case errors.Is(err, store.ErrDomainExists):
		return &httpError{http.StatusConflict, err.Error()}
	case errors.Is(err, store.ErrDomainNotFound), errors.Is(err, store.ErrDomainDisabled),
		errors.Is(err, store.ErrDomainPasswordNone):
		return &httpError{http.StatusNotFound, err.Error()}
	case errors.Is(err, node.ErrNoLeader):
		return &httpError{http.StatusServiceUnavailable, err.Error()}
	case errors.As(err, &ce):
		return &httpError{http.StatusBadRequest, ce.Msg}
	}
	return &httpError{http.StatusInternalServerError, "Internal error"}
}
