// Package adminapi serves MongooseIM 6.5.0's REST admin API (mongoose_admin_api) for a
// node: domains and users with MongooseIM's exact status codes and messages, plus our
// own /domains, /host_types and /status.
package adminapi

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
)

// Backend is what the API needs from a node; *node.Node implements it.
type Backend interface {
	Name() string
	AddDomain(ctx context.Context, name, hostType string) error
	Domain(name string) (node.DomainInfo, error)
	ListDomains(hostType string) ([]node.DomainInfo, error)
	SetDomainEnabled(ctx context.Context, name string, enabled bool) error
	RemoveDomain(ctx context.Context, name, hostType string, async bool) error
	SetDomainPassword(ctx context.Context, name, password string) error
	DeleteDomainPassword(ctx context.Context, name string) error
	HostTypes() []string
	RegisterUser(ctx context.Context, domain, user, password string) (jid.JID, error)
	ChangePassword(ctx context.Context, domain, user, password string) error
	RemoveUser(ctx context.Context, domain, user string) error
	ListUsers(domain string) ([]string, error)
	Status() node.Status
	Directory() *node.Directory
}

// Config is one mongoose_admin_api handler.
type Config struct {
	// Path is the handler's mount point, "/api" by default.
	Path string
	// Username and Password enable HTTP Basic auth; both empty means no auth, and then
	// requests that carry credentials are refused, as in MongooseIM.
	Username, Password string
	// DomainServiceDisabled mirrors MongooseIM without [services.service_domain_db]:
	// every domain request is refused with 403 "Dynamic domains service is disabled".
	DomainServiceDisabled bool
	// Sessions enables /sessions and /stanzas; Accounts lets /stanzas check senders.
	Sessions Sessions
	Accounts Accounts
	// Contacts enables /contacts (contacts.go).
	Contacts Contacts
	// MUCLight enables /muc-lights (muclight.go).
	MUCLight MUCLight
	// Messages enables /messages (messages.go).
	Messages Messages
	Logger   *slog.Logger
}

// MaxBodyBytes bounds request bodies.
const MaxBodyBytes = 1 << 20

// Handler returns the API as an http.Handler mounted under cfg.Path.
func Handler(b Backend, cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	base := strings.TrimRight(cfg.Path, "/")
	a := &api{b: b, cfg: cfg}
	mux := http.NewServeMux()
	route := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		method, path, _ := strings.Cut(pattern, " ")
		if cfg.DomainServiceDisabled && strings.HasPrefix(path, "/domains") {
			h = func(http.ResponseWriter, *http.Request) error {
				return errorf(http.StatusForbidden, "Dynamic domains service is disabled")
			}
		}
		mux.Handle(method+" "+base+path, a.wrap(a.scoped(pattern, h)))
	}
	route("GET /domains", a.listDomains)
	route("GET /domains/{domain}", a.getDomain)
	route("PUT /domains/{domain}", a.putDomain)
	route("PATCH /domains/{domain}", a.patchDomain)
	route("DELETE /domains/{domain}", a.deleteDomain)
	route("PUT /domains/{domain}/password", a.putDomainPassword)
	route("DELETE /domains/{domain}/password", a.deleteDomainPassword)
	route("GET /host_types", a.hostTypes)
	route("GET /status", a.status)
	route("GET /users/{domain}", a.listUsers)
	route("POST /users/{domain}", a.postUser)
	route("PUT /users/{domain}/{username}", a.putUser)
	route("DELETE /users/{domain}/{username}", a.deleteUser)
	a.clusterRoutes(route)
	if cfg.Sessions != nil {
		a.sessionRoutes(route)
	}
	if cfg.Contacts != nil {
		a.contactRoutes(route)
	}
	if cfg.MUCLight != nil {
		a.mucLightRoutes(route)
	}
	if cfg.Messages != nil {
		a.messageRoutes(route)
	}
	return a.authenticate(mux)
}

type api struct {
	b   Backend
	cfg Config
}

// httpError is an error with the status code and MongooseIM message to answer with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

func (a *api) wrap(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		err := h(w, r)
		if err == nil {
			return
		}
		var he *httpError
		if !errors.As(err, &he) {
			he = toHTTPError(err)
		}
		lvl := slog.LevelWarn
		if he.code >= 500 {
			lvl = slog.LevelError
		}
		a.cfg.Logger.Log(r.Context(), lvl, "admin api error", "method", r.Method, "path", r.URL.Path, "status", he.code, "err", err)
		writeJSON(w, he.code, he.msg)
	})
}

func (a *api) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, has := r.BasicAuth()
		ok := !has && r.Header.Get("Authorization") == ""
		if a.cfg.Username != "" || a.cfg.Password != "" {
			ok = has &&
				subtle.ConstantTimeCompare([]byte(user), []byte(a.cfg.Username)) == 1 &&
				subtle.ConstantTimeCompare([]byte(pass), []byte(a.cfg.Password)) == 1
		}
		if !ok && has {
			// admin@DOMAIN is a domain admin login (domainadmin.go), with or without
			// a global username configured.
			var handled bool
			if r, handled, ok = a.domainAdminLogin(r, user, pass); handled && !ok {
				a.cfg.Logger.Info("admin api: domain admin login refused", "user", user)
			}
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="mongooseim"`)
			writeJSON(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// parseBody decodes a JSON object body. Anything else, an empty body included, is
// MongooseIM's "Invalid request body".
func parseBody(r *http.Request) (map[string]json.RawMessage, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "Request body too large (limit %d bytes)", MaxBodyBytes)
		}
		return nil, errorf(http.StatusBadRequest, "Invalid request body")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return nil, errorf(http.StatusBadRequest, "Invalid request body")
	}
	return m, nil
}

// field reads a typed field; a missing field gives missingMsg, a wrong type gives
// "Invalid request body".
func field[T any](m map[string]json.RawMessage, name, missingMsg string) (T, error) {
	var v T
	raw, ok := m[name]
	if !ok {
		return v, errorf(http.StatusBadRequest, "%s", missingMsg)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, errorf(http.StatusBadRequest, "Invalid request body")
	}
	return v, nil
}

// Serve runs the API on addr until ctx ends. It returns the bound address on ready.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Listen binds addr and starts serving h in the background, over TLS when tc is set.
func Listen(addr string, h http.Handler, tc *tls.Config) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("adminapi: listen %s: %w", addr, err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	s := &Server{ln: ln, srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, letting in-flight requests finish for a short while.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
