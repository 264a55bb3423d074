package store

import "errors"

// Domain errors returned by mutations as apply results. Their texts are MongooseIM's
// messages, which the REST API returns verbatim. Each has a stable code so the error can
// cross the cluster port when a follower forwards a write to the leader.
var (
	ErrDomainExists       = newCodeErr("duplicate", "Domain already exists")
	ErrDomainNotFound     = newCodeErr("not_found", "Given domain does not exist")
	ErrWrongHostType      = newCodeErr("wrong_host_type", "Wrong host type was provided")
	ErrDomainDeleted      = newCodeErr("deleted", "Domain has been deleted")
	ErrDomainDisabled     = newCodeErr("domain_disabled", "Given domain does not exist or is disabled")
	ErrUserExists         = newCodeErr("user_exists", "User already exists")
	ErrUserNotFound       = newCodeErr("user_not_found", "User does not exist")
	ErrTooManyUsers       = newCodeErr("too_many_users", "Maximum number of users in the domain reached")
	ErrDomainPasswordNone = newCodeErr("password_not_found", "Domain password does not exist")
)

// CodeError is a domain error with a stable code.
type CodeError struct {
	Code string
	Msg  string
}

func (e *CodeError) Error() string { return e.Msg }

func newCodeErr(code, msg string) *CodeError {
	e := &CodeError{Code: code, Msg: msg}
	byCode[code] = e
	return e
}

var byCode = map[string]*CodeError{}

// ErrorByCode returns the sentinel for a code, so a forwarded result decodes to the
// same value errors.Is matches. Unknown codes become a plain error with the message.
func ErrorByCode(code, msg string) error {
	if e, ok := byCode[code]; ok {
		return e
	}
	return errors.New(msg)
}
