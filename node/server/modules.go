package server

import (
	"context"
	"strconv"
	"time"

	"github.com/mongoose-go/mongoose-go/xmpp/blocking"
	"github.com/mongoose-go/mongoose-go/xmpp/carbons"
	"github.com/mongoose-go/mongoose-go/xmpp/csi"
	"github.com/mongoose-go/mongoose-go/xmpp/isolation"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/last"
	"github.com/mongoose-go/mongoose-go/xmpp/mam"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/muclight"
	"github.com/mongoose-go/mongoose-go/xmpp/offline"
	"github.com/mongoose-go/mongoose-go/xmpp/presence"
	"github.com/mongoose-go/mongoose-go/xmpp/private"
	"github.com/mongoose-go/mongoose-go/xmpp/roster"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/sic"
	"github.com/mongoose-go/mongoose-go/xmpp/sm"
	"github.com/mongoose-go/mongoose-go/xmpp/vcard"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Modules (docs/modules.md): the module host is built on the router and the store, and
// every host type starts the modules its configuration enables, once, before any
// listener opens. The router reaches the modules through the three hooks below, which
// the router's config holds from the start.

// catalog lists the modules this build implements, in start order. A module the
// configuration enables but that is not here yet is skipped (config knows it as
// implemented, so it loads without a warning).
func (s *Server) catalog() []module.Module {
	return []module.Module{
		isolation.Module, // a router filter only: its place in the chain is PrioFirst
		s.Roster.Module(),
		presence.Module,
		vcard.Module,
		private.Module,
		last.Module,
		sic.Module,
		blocking.Module,
		offline.Module(s.offlineLimit),
		carbons.Module,
		s.MAM.Module(), // archives after carbons copied a sent message (both PrioArchive)
		s.MUCLight.Module(),
		csi.Module, // its receive hook is PrioLast: it shapes what the others let through
		sm.Module,  // counts and buffers what finally goes to the client (after CSI)
		// Pre-auth IQs and the account's own IQs only: no chain hooks.
		s.registerModule(),
	}
}

// offlineLimit resolves mod_offline's access rule (max_user_offline_messages) for one
// user: an integer value is the queue length; anything else (no clause matched)
// leaves mod_offline's default.
func (s *Server) offlineLimit(hostType, rule string, user jid.JID) int {
	n, _ := strconv.Atoi(s.rule(hostType, rule, user))
	return n
}

// startModules creates the module host and starts, per host type, the modules its
// configuration (top-level [modules] or its [[host_config]] modules) enables.
func (s *Server) startModules() error {
	h, err := module.NewHost(module.Config{
		Router:    s.Router,
		Store:     s.Node,
		Directory: newSubdomains(s.Node.Directory(), s.cfg),
		Accounts:  accounts{s.Node},
		Disco:     s.Disco,
		Cluster:   s.cluster(),
		Metrics:   s.metrics.set,
		Logger:    s.log,
	})
	if err != nil {
		return err
	}
	s.Modules = h
	s.Roster = roster.New(h)
	s.MAM = mam.New(h, s.cfg.Cluster.NodeName)
	s.MAM.SetShaping(s.mamShaping)       // access.go
	s.MAM.SetPermission(s.mamPermission) // access.go
	s.MUCLight = muclight.New(h)
	s.MUCLight.SetSchemas(mucLightSchemas(s.cfg))
	s.MUCLight.SetArchiver(mamRooms{s.MAM})
	// One catalog for all host types: a module's shared state (mod_register's
	// per-address rate limit) is then shared too.
	catalog := s.catalog()
	for _, ht := range s.cfg.AllHostTypes() {
		enabled := s.cfg.ModulesFor(ht)
		var started []string
		for _, m := range catalog {
			opts, ok := enabled[m.Name]
			if !ok {
				continue
			}
			if err := h.Start(ht, m, opts); err != nil {
				return err
			}
			started = append(started, m.Name)
		}
		s.log.Debug("modules started", "host_type", ht, "modules", started)
	}
	return nil
}

func (s *Server) modulePresence(from router.Session, el *xmlstream.Element) {
	if s.Modules != nil {
		s.Modules.Presence(from, el)
	}
}

func (s *Server) moduleOffline(hostType string, to jid.JID, el *xmlstream.Element) bool {
	return s.Modules != nil && s.Modules.Offline(hostType, to, el)
}

func (s *Server) moduleFilter(hostType string, from, to jid.JID, el *xmlstream.Element) (bool, *xmlstream.Element) {
	if s.Modules == nil {
		return false, nil
	}
	return s.Modules.Filter(hostType, from, to, el)
}

// userRemoved deletes a removed account's roster (telling its contacts) and its
// archive (in chunks). Every node
// sees the removal; the leader does the work, so that it is proposed once.
func (s *Server) userRemoved(domain, user string) {
	if s.Roster == nil || s.Node.Status().RaftState != "Leader" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Roster.RemoveUser(ctx, domain, user); err != nil {
		s.log.Warn("roster of a removed user not deleted", "domain", domain, "user", user, "error", err)
	}
	// vCard, private XML, last activity, block list and offline messages went with
	// the account itself (store.RemoveUser).
	if err := s.MAM.RemoveUser(ctx, domain, user); err != nil {
		s.log.Warn("archive of a removed user not deleted", "domain", domain, "user", user, "error", err)
	}
}
