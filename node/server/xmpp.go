package server

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/c2s"
	"github.com/mongoose-go/mongoose-go/xmpp/disco"
	"github.com/mongoose-go/mongoose-go/xmpp/entitytime"
	"github.com/mongoose-go/mongoose-go/xmpp/ping"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/version"
)

// accounts adapts the node to the XMPP layer's account interfaces.
type accounts struct{ n *node.Node }

func (a accounts) UserExists(domain, user string) bool {
	_, ok := a.n.UserCreds(domain, user)
	return ok
}

// startXMPP builds the router with the server's own IQ handlers, ties domain and
// account events to session closing, and opens every [[listen.c2s]].
func (s *Server) startXMPP(opts Options) error {
	r, err := router.New(router.Config{
		Directory:    newSubdomains(s.Node.Directory(), s.cfg), // + service subdomains (muclight.go)
		Accounts:     accounts{s.Node},
		SessionLimit: s.sessionLimit,
		Presence:     s.modulePresence,
		Offline:      s.moduleOffline,
		Filters:      []router.Filter{s.moduleFilter},
		Remote:       s.remote(),
		Logger:       s.log,
		Metrics:      s.metrics.set,
	})
	if err != nil {
		return err
	}
	s.Router = r
	s.Disco = disco.NewRegistry()
	// Server-wide handlers are registered for every host type ("").
	ping.Register(r, "")
	version.Register(r, "", version.Config{Version: opts.Version})
	entitytime.Register(r, "", time.Now)
	disco.Register(r, "", disco.Config{Registry: s.Disco, Accounts: accounts{s.Node}})
	if err := s.startModules(); err != nil {
		return err
	}

	// Disabling or removing a domain closes its sessions on this node as the raft
	// entry applies; the watcher must not block the apply goroutine.
	s.Node.Directory().Watch(func(ev node.DomainEvent) {
		switch ev.Kind {
		case node.DomainDisabled, node.DomainDeleting, node.DomainRemoved:
			go r.CloseDomain(ev.Domain)
		}
	})
	// A removal deletes data only once the domain's sessions are gone from every
	// node's table (each node closes its own as the removal's first entry applies).
	// A node that died keeps its sessions in the table until it is found dead
	// (3 s), so the wait is bounded.
	s.Node.BeforePurge(func(ctx context.Context, domain string) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		for len(r.SessionsOfDomain(domain)) > 0 {
			select {
			case <-ctx.Done():
				s.log.Warn("removing a domain whose sessions are not all closed yet", "domain", domain)
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	// A removed account's sessions close on every node as its removal commits; the
	// callbacks must not block the apply goroutine.
	s.Node.OnApplied(func(m store.Mutation) {
		if m, ok := m.(*store.RemoveUser); ok {
			go r.CloseUser(m.Domain, m.User)
			go s.userRemoved(m.Domain, m.User)
		}
	})

	for i, l := range s.cfg.Listen.C2S {
		lc, err := s.c2sConfig(l)
		if err != nil {
			return fmt.Errorf("listen.c2s[%d]: %w", i, err)
		}
		ln, err := c2s.Listen(lc)
		if err != nil {
			return fmt.Errorf("listen.c2s[%d]: %w", i, err)
		}
		s.log.Info("c2s listening", "address", ln.Addr().String(), "tls", lc.TLSMode.String())
		s.c2s = append(s.c2s, ln)
	}
	return nil
}

func (s *Server) c2sConfig(l config.C2SListener) (c2s.Config, error) {
	cfg := s.cfg
	lc := c2s.Config{
		Addr:                net.JoinHostPort(l.IPAddress, strconv.Itoa(l.Port)),
		MaxStanzaSize:       l.MaxStanzaSize,
		StateTimeout:        stateTimeout(l.StateTimeout),
		MaxConnections:      l.MaxConnections,
		DefaultServerDomain: cfg.General.DefaultServerDomain,
		Directory:           s.Node.Directory(),
		Accounts:            s.Node,
		Router:              s.Router,
		Mechanisms:          func(ht string) []string { return cfg.AuthFor(ht).SASLMechanisms },
		ScramIterations:     func(ht string) int { return cfg.AuthFor(ht).Password.ScramIterations },
		NoLegacySession:     !l.BackwardsCompatibleSession,
		Access:              s.c2sAccess(l.Access), // access.go
		Modules:             s.Modules,
		Logger:              s.log,
		Metrics:             s.metrics.set,
	}
	if l.Shaper != "" && l.Shaper != "none" {
		lc.ShaperRate = cfg.Shapers[l.Shaper]
	}
	if l.TLS == nil {
		return lc, nil
	}
	mode, err := c2s.ParseTLSMode(l.TLS.Mode)
	if err != nil {
		return lc, err
	}
	tc, err := s.tlsConfig(l.TLS)
	if err != nil {
		return lc, err
	}
	lc.TLSMode = mode
	lc.TLS = tc
	return lc, nil
}

// stateTimeout maps the config's 0 ("infinity") to a day: c2s reads 0 as its default.
func stateTimeout(d time.Duration) time.Duration {
	if d == 0 {
		return 24 * time.Hour
	}
	return d
}
