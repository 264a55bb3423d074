package server

import (
	"strconv"

	"github.com/mongoose-go/mongoose-go/node/config"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/router"
)

// Access rules ([access] with the [acl] classes, docs/config.md) are evaluated per
// user, as MongooseIM's acl:match_rule does: for the user's JID, in the context of
// the user's own domain and its host type. The node's directory says which domains
// are hosted (ACL patterns with match = "any_hosted_domain").

// rule evaluates an access rule for who.
func (s *Server) rule(hostType, rule string, who jid.JID) string {
	return s.cfg.MatchRule(hostType, who.Domain(), rule, who, s.Node.Directory())
}

// allowed reports whether rule evaluates to "allow" for who.
func (s *Server) allowed(hostType, rule string, who jid.JID) bool {
	return s.rule(hostType, rule, who) == config.Allow
}

// sessionLimit resolves the max_user_sessions access rule for one user: an integer
// value is the limit, "infinity" none, anything else (no clause matched)
// router.DefaultMaxSessions, MongooseIM's default config value.
func (s *Server) sessionLimit(hostType string, user jid.JID) int {
	v := s.rule(hostType, "max_user_sessions", user)
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	if v == "infinity" {
		return 0 // the router's unlimited
	}
	return router.DefaultMaxSessions
}

// c2sAccess is a c2s listener's access rule as the listener asks it at resource
// binding; nil (no check) for "all", the rule that allows everyone.
func (s *Server) c2sAccess(rule string) func(hostType string, full jid.JID) bool {
	if rule == "" || rule == "all" {
		return nil
	}
	return func(hostType string, full jid.JID) bool {
		return s.allowed(hostType, rule, full)
	}
}

// mamShaping resolves mod_mam's shapers for a user and action as MongooseIM does:
// the access rules mam_<action>_shaper and mam_<action>_global_shaper name a
// [shaper] whose max_rate is the rate. A rule that names no defined shaper ("none",
// or a rule defined nowhere) leaves the action unshaped.
func (s *Server) mamShaping(hostType string, user jid.JID, action string) (userRate int, global string, globalRate int) {
	userRate = s.cfg.Shapers[s.rule(hostType, "mam_"+action+"_shaper", user)]
	global = s.rule(hostType, "mam_"+action+"_global_shaper", user)
	return userRate, global, s.cfg.Shapers[global]
}

// mamPermission evaluates one of mod_mam's permission rules (mam_lookup_messages and
// the like) for a requester, in the context of the archive's domain: "" when no
// clause matches, so that mod_mam falls back to its default (owner or occupants).
func (s *Server) mamPermission(hostType, domain, rule string, requester jid.JID) string {
	return s.cfg.MatchRuleOr(hostType, domain, rule, requester, s.Node.Directory(), "")
}
