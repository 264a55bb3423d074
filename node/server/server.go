// Package server assembles a whole mongoose-go node from a configuration: the
// replicated store (node), the admin REST API listeners and, as they land, the XMPP
// listeners. `mongoose-go serve` and the end-to-end tests both start nodes through it.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/node/adminapi"
	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/node/mesh"
	"github.com/mongoose-go/mongoose-go/xmpp/c2s"
	"github.com/mongoose-go/mongoose-go/xmpp/disco"
	"github.com/mongoose-go/mongoose-go/xmpp/mam"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/muclight"
	"github.com/mongoose-go/mongoose-go/xmpp/roster"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
)

// Server is a running node with its listeners.
type Server struct {
	Node   *node.Node
	cfg    *config.Config
	log    *slog.Logger
	admins []*adminapi.Server
	c2s    []*c2s.Listener
	mesh   *mesh.Mesh // sessions and stanzas between nodes (mesh.go)
	// metrics is the Prometheus registry and what feeds it (metrics.go);
	// metricsOnly are the HTTP listeners serving metrics without the admin API.
	metrics      *serverMetrics
	metricsOnly  []*adminapi.Server
	metricsAddrs []string

	// Router delivers stanzas between this node's sessions; Disco collects the
	// features modules advertise per host type.
	Router *router.Router
	Disco  *disco.Registry
	// Modules runs the modules per host type; Roster is mod_roster's service, which
	// the admin API's /contacts uses (modules.go).
	Modules *module.Host
	Roster  *roster.Service
	// MUCLight is mod_muc_light's service (rooms; the admin API's /muc-lights).
	MUCLight *muclight.Service
	// MAM is mod_mam's service (the archive; the admin API's /messages).
	MAM *mam.Service
}

// Options adjust a start beyond what the config file says.
type Options struct {
	Logger *slog.Logger
	// Version is reported by XEP-0092.
	Version string
}

// Start opens the node and its listeners. On error everything started is stopped.
func Start(cfg *config.Config, opts Options) (*Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if len(cfg.EmbeddedStoreNotes) > 0 {
		log.Info("database settings are served by the embedded replicated store; no database connection is made",
			"keys", cfg.EmbeddedStoreNotes)
	}
	n, err := node.Open(node.Options{
		NodeName:    cfg.Cluster.NodeName,
		DataDir:     cfg.Cluster.DataDir,
		RaftAddr:    cfg.Cluster.Listen,
		Advertise:   cfg.Cluster.Advertise,
		Join:        cfg.Cluster.Join,
		Secret:      cfg.Cluster.Secret,
		StaticHosts: cfg.General.Hosts,
		HostTypes:   cfg.General.HostTypes,
		Auth:        authPolicy(cfg),
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	s := &Server{Node: n, cfg: cfg, log: log, metrics: newServerMetrics()}
	s.registerMetrics()
	if err := s.startXMPP(opts); err != nil {
		s.Close()
		return nil, err
	}
	s.startMesh()
	for _, l := range cfg.Listen.HTTP {
		if l.AdminAPI == nil && l.Prometheus == nil {
			continue
		}
		addr := net.JoinHostPort(l.IPAddress, strconv.Itoa(l.Port))
		var h http.Handler
		if l.AdminAPI != nil {
			h = s.adminHandler(l.AdminAPI)
		}
		if l.Prometheus != nil {
			h = s.metricsHandler(l.Prometheus, h)
		}
		var tc *tls.Config
		if l.TLS != nil {
			if tc, err = s.tlsConfig(l.TLS); err != nil {
				s.Close()
				return nil, fmt.Errorf("listen.http: %w", err)
			}
		}
		a, err := adminapi.Listen(addr, h, tc)
		if err != nil {
			s.Close()
			return nil, err
		}
		if l.Prometheus != nil {
			log.Info("metrics listening", "address", a.Addr(), "path", l.Prometheus.Path)
			s.metricsAddrs = append(s.metricsAddrs, a.Addr())
		}
		if l.AdminAPI == nil {
			s.metricsOnly = append(s.metricsOnly, a)
			continue
		}
		log.Info("admin API listening", "address", a.Addr(), "path", l.AdminAPI.Path)
		s.admins = append(s.admins, a)
	}
	return s, nil
}

// adminHandler is the admin REST API of one mongoose_admin_api handler.
func (s *Server) adminHandler(c *config.AdminAPIHandler) http.Handler {
	cfg, n, log := s.cfg, s.Node, s.log
	return adminapi.Handler(n, adminapi.Config{
		Path:     c.Path,
		Username: c.Username,
		Password: c.Password,
		// MongooseIM refuses domain requests when the domain service is off.
		DomainServiceDisabled: cfg.Services["service_domain_db"] == nil,
		Sessions:              s.Router,
		Contacts:              s.Roster,
		MUCLight:              s.MUCLight,
		Messages:              s.MAM,
		Accounts:              accounts{n},
		Logger:                log,
	})
}

// AdminAddrs returns the bound addresses of the admin API listeners, in config order.
func (s *Server) AdminAddrs() []string {
	out := make([]string, len(s.admins))
	for i, a := range s.admins {
		out[i] = a.Addr()
	}
	return out
}

// C2SAddrs returns the bound addresses of the c2s listeners, in config order.
func (s *Server) C2SAddrs() []string {
	out := make([]string, len(s.c2s))
	for i, l := range s.c2s {
		out[i] = l.Addr().String()
	}
	return out
}

// WaitReady blocks until the node's cluster has a leader, so writes can be served.
func (s *Server) WaitReady(ctx context.Context) error { return s.Node.WaitLeader(ctx) }

// Close stops listeners, then the node.
func (s *Server) Close() error {
	var errs []error
	for _, l := range s.c2s {
		errs = append(errs, l.Close())
	}
	for _, a := range s.admins {
		errs = append(errs, a.Close())
	}
	for _, a := range s.metricsOnly {
		errs = append(errs, a.Close())
	}
	if s.Modules != nil {
		// After the listeners: no session is left to call a hook.
		s.Modules.Close()
	}
	errs = append(errs, s.closeMesh())
	errs = append(errs, s.Node.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("server: close: %w", err)
	}
	return nil
}

func authPolicy(cfg *config.Config) func(string) node.AuthPolicy {
	return func(hostType string) node.AuthPolicy {
		a := cfg.Auth
		if hostType != "" {
			a = cfg.AuthFor(hostType)
		}
		return node.AuthPolicy{
			PlainPasswords: a.Password.Format == "plain",
			Hashes:         a.Password.Hash,
			Iterations:     a.Password.ScramIterations,
			MaxUsers:       a.MaxUsersPerDomain,
		}
	}
}
