package server

import (
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/module"
	"github.com/mongoose-go/mongoose-go/xmpp/register"
)

// registerModule builds mod_register (XEP-0077) on the node's accounts.
func (s *Server) registerModule() module.Module {
	return register.Module(register.Deps{
		Accounts: s.Node,
		Access:   s.registerAccess,
		IPAccess: s.registerIPAccess,
		Timeout:  s.cfg.General.RegistrationTimeout,
	})
}

// registerAccess evaluates mod_register's access rule for a new account's JID, in
// the context of its domain. The option unset allows everyone; a rule that matches
// no clause, or is defined nowhere, denies, as in MongooseIM.
func (s *Server) registerAccess(hostType, rule string, account jid.JID) bool {
	if rule == "" {
		return true
	}
	return s.allowed(hostType, rule, account)
}

// registerIPAccess reads mod_register's ip_access list for a host type (config
// validated it at load).
func (s *Server) registerIPAccess(hostType string) []register.IPRule {
	m, ok := s.cfg.ModulesFor(hostType)["mod_register"]
	if !ok {
		return nil
	}
	items, _ := m.Opts["ip_access"].([]map[string]any)
	if items == nil {
		if list, ok := m.Opts["ip_access"].([]any); ok {
			for _, v := range list {
				if t, ok := v.(map[string]any); ok {
					items = append(items, t)
				}
			}
		}
	}
	var out []register.IPRule
	for _, t := range items {
		addr, _ := t["address"].(string)
		p, err := register.ParsePrefix(addr)
		if err != nil {
			s.log.Warn("mod_register: ip_access entry ignored", "address", addr, "error", err)
			continue
		}
		out = append(out, register.IPRule{Prefix: p, Allow: t["policy"] == "allow"})
	}
	return out
}
