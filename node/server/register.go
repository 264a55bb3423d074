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

// registerAccess evaluates mod_register's access rule for a new account. Access
// rules do not match ACLs per user yet, so only {acl = "all"} clauses match (first
// one wins), and a rule with none of them denies, as an unmatched rule does in
// MongooseIM. The option unset, or the rule names "all"/"none", behave as
// MongooseIM's built-in rules.
func (s *Server) registerAccess(hostType, rule string, _ jid.JID) bool {
	switch rule {
	case "", "all":
		return true
	case "none":
		return false
	}
	for _, c := range s.cfg.AccessFor(hostType)[rule] {
		if c.ACL == "all" {
			return c.Value == "allow"
		}
	}
	return false
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
