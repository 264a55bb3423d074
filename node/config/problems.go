package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by the error Load, Parse and Check return when the
// configuration has at least one Error-severity problem (or is not TOML).
var ErrInvalid = errors.New("invalid configuration")

// Severity tells whether a Problem stops start-up.
type Severity int

const (
	// Error problems stop start-up: the key is known and its value is wrong,
	// a required key is missing, or a cross-reference does not resolve.
	Error Severity = iota + 1
	// Warning problems are logged and the node starts: the key is accepted
	// but has no effect in this product (yet).
	Warning
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// Problem is one finding about a configuration file.
type Problem struct {
	Severity Severity
	// Key is the dotted path of the offending key, with array indices,
	// e.g. "listen.c2s[0].port". Empty for file-level problems.
	Key string
	Msg string
}

// String renders the problem as "error: general.default_server_domain: required".
func (p Problem) String() string {
	if p.Key == "" {
		return p.Severity.String() + ": " + p.Msg
	}
	return p.Severity.String() + ": " + p.Key + ": " + p.Msg
}

// Problems is the ordered list of findings of one parse.
type Problems []Problem

// HasErrors reports whether any problem has severity Error.
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if p.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the Error-severity problems.
func (ps Problems) Errors() Problems { return ps.filter(Error) }

// Warnings returns only the Warning-severity problems.
func (ps Problems) Warnings() Problems { return ps.filter(Warning) }

func (ps Problems) filter(s Severity) Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == s {
			out = append(out, p)
		}
	}
	return out
}

// String renders one problem per line.
func (ps Problems) String() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// asError returns nil when there are no errors, otherwise an error wrapping
// ErrInvalid whose message lists every Error-severity problem.
func (ps Problems) asError() error {
	errs := ps.Errors()
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d error(s):\n%s", ErrInvalid, len(errs), errs.String())
}

// Find returns the first problem whose Key is key.
func (ps Problems) Find(key string) (Problem, bool) {
	for _, p := range ps {
		if p.Key == key {
			return p, true
		}
	}
	return Problem{}, false
}
