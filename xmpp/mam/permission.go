package mam

import (
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// Who may act on an archive, as MongooseIM's mod_mam decides it: an access rule
// named after the action is evaluated for the requester, in the context of the
// archive's domain and host type. "allow" lets the requester act on that archive
// (an operator's compliance bot reading users' archives, say); "deny" refuses even
// the owner; any other value, no matching clause, or a rule defined nowhere
// ("default", MongooseIM's default configuration) leaves the default: a user's
// archive is its owner's only, a room's archive its occupants'.

// The permission rules of each archive action. MongooseIM's code names the query
// mam_set_message_form while its default configuration and documentation name
// mam_lookup_messages; both are honoured, the first that decides wins.
var (
	rulesQuery    = []string{"mam_set_message_form", "mam_lookup_messages"}
	rulesForm     = []string{"mam_get_message_form"}
	rulesGetPrefs = []string{"mam_get_prefs"}
	rulesSetPrefs = []string{"mam_set_prefs"}
	rulesMetadata = []string{"mam_get_metadata"}
)

// Values of a permission rule that decide; others mean the default.
const (
	permAllow = "allow"
	permDeny  = "deny"
)

// textNotAllowed is MongooseIM's text of the <not-allowed/> error for an action
// the rules or the default refuse.
const textNotAllowed = "The action is not allowed."

// Permission evaluates access rule rule for requester in the context of domain, of
// host type hostType. It returns the value of the first clause that matches, or ""
// when none does or the rule is defined nowhere. node/server resolves it from
// [access] and [acl]; without it every action takes the default.
type Permission func(hostType, domain, rule string, requester jid.JID) string

// SetPermission makes archive actions consult the configuration's access rules;
// call it before the modules start.
func (s *Service) SetPermission(fn Permission) { s.permission = fn }

// permitted decides whether requester may run an action (its rules) on an archive of
// domain; byDefault is the decision when no rule decides.
func (m *mod) permitted(rules []string, domain string, requester jid.JID, byDefault bool) bool {
	if fn := m.svc.permission; fn != nil {
		for _, r := range rules {
			switch fn(m.env.HostType(), domain, r, requester.Bare()) {
			case permAllow:
				return true
			case permDeny:
				return false
			}
		}
	}
	return byDefault
}

// rulesFor names the permission rules of the action an IQ's payload p asks for
// (set: the IQ is a set); nil for a payload that is no archive action.
func rulesFor(p *xmlstream.Element, set bool) []string {
	switch {
	case p.Local == "query" && set:
		return rulesQuery
	case p.Local == "query":
		return rulesForm
	case p.Local == "prefs" && set:
		return rulesSetPrefs
	case p.Local == "prefs":
		return rulesGetPrefs
	case p.Local == "metadata" && !set && p.Space == NS2:
		return rulesMetadata
	}
	return nil
}
