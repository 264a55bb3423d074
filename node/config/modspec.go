package config

import (
	"maps"
	"slices"
)

// implementedModules are the modules this product serves. Every other module
// MongooseIM knows is accepted with a "not implemented, ignored" warning.
// Keep this the only list: IsImplementedModule and the docs follow it.
var implementedModules = []string{
	"mod_disco", "mod_roster", "mod_presence", "mod_offline", "mod_carboncopy",
	"mod_vcard", "mod_private", "mod_last", "mod_blocking", "mod_privacy",
	"mod_csi", "mod_sic", "mod_register", "mod_stream_management", "mod_mam",
	"mod_muc_light", "mod_domain_isolation", "mod_ping", "mod_time",
	"mod_version", "mod_adhoc",
}

// IsImplementedModule reports whether module is served by this product.
func IsImplementedModule(module string) bool { return slices.Contains(implementedModules, module) }

// ImplementedModules returns the names of the modules this product serves.
func ImplementedModules() []string { return slices.Clone(implementedModules) }

// knownModules are modules MongooseIM has had in 4.x-6.x besides the
// implemented ones. A name in neither list is an error (a typo, most likely),
// as it is for MongooseIM.
var knownModules = []string{
	"mod_amp", "mod_auth_token", "mod_bind2", "mod_blocklist", "mod_bosh",
	"mod_broadcast", "mod_cache_users", "mod_caps", "mod_commands",
	"mod_event_pusher", "mod_extdisco", "mod_external_filter",
	"mod_fast_auth_token", "mod_global_distrib", "mod_http_notification",
	"mod_http_upload", "mod_inbox", "mod_jingle_sip", "mod_keystore",
	"mod_mam_meta", "mod_muc", "mod_muc_commands", "mod_muc_light_commands",
	"mod_muc_log", "mod_offline_chatmarkers", "mod_offline_stub", "mod_pubsub",
	"mod_pubsub_old", "mod_push_service_mongoosepush", "mod_revproxy",
	"mod_sasl2", "mod_shared_roster_ldap", "mod_smart_markers", "mod_stanzaid",
	"mod_websockets",
}

// noDynamicDomains are modules MongooseIM refuses to start when host_types
// is non-empty (dynamic_domains_not_supported).
var noDynamicDomains = []string{"mod_global_distrib", "mod_pubsub_old", "mod_shared_roster_ldap"}

type optKind int

const (
	kAny         optKind = iota // accepted as is (e.g. backend: the embedded store serves all)
	kBool                       // boolean
	kString                     // string
	kInt                        // any integer
	kFloat                      // float or integer
	kPosInt                     // integer >= 1
	kNonNegInt                  // integer >= 0
	kPosIntOr                   // integer >= 1 or one of words
	kNonNegIntOr                // integer >= 0 or one of words
	kEnum                       // one of words
	kStrList                    // array of strings
	kTable                      // table checked against sub (nil sub: any keys)
	kTableList                  // array of tables each checked against sub
	kSubdomain                  // subdomain pattern; "@HOST@" stands for the domain
)

// opt describes one module option.
type opt struct {
	kind  optKind
	words []string
	sub   spec
	// removed, when set, makes the option a warning: MongooseIM dropped it.
	removed string
}

type spec map[string]opt

var (
	anyOpt      = opt{kind: kAny}
	boolOpt     = opt{kind: kBool}
	strOpt      = opt{kind: kString}
	posIntOpt   = opt{kind: kPosInt}
	nonNegOpt   = opt{kind: kNonNegInt}
	posOrInf    = opt{kind: kPosIntOr, words: []string{"infinity"}}
	strListOpt  = opt{kind: kStrList}
	anyTableOpt = opt{kind: kTable}
	subdomOpt   = opt{kind: kSubdomain}
)

// with returns a copy of s plus extra.
func (s spec) with(extra spec) spec {
	out := maps.Clone(s)
	maps.Copy(out, extra)
	return out
}

// common options every module may carry. iqdisc tunes MongooseIM's IQ
// worker queues; there is no such knob here.
var commonOpts = spec{"iqdisc": anyOpt, "backend": anyOpt}

// mamOpts are mod_mam's root options, which pm and muc inherit.
var mamOpts = commonOpts.with(spec{
	"no_stanzaid_element":    boolOpt,
	"is_archivable_message":  strOpt,
	"send_message":           strOpt,
	"archive_chat_markers":   boolOpt,
	"message_retraction":     boolOpt,
	"full_text_search":       boolOpt,
	"cache_users":            boolOpt,
	"default_result_limit":   posIntOpt,
	"max_result_limit":       posIntOpt,
	"enforce_simple_queries": boolOpt,
	"user_prefs_store":       anyOpt,
	"delete_domain_limit":    posOrInf,
	"db_jid_format":          strOpt,
	"db_message_format":      strOpt,
	"extra_fin_element":      strOpt,
	"extra_lookup_params":    strOpt,
	"async_writer": {kind: kTable, sub: spec{
		"enabled":        boolOpt,
		"flush_interval": nonNegOpt,
		"batch_size":     posIntOpt,
		"pool_size":      posIntOpt,
	}},
	"cache": anyTableOpt,
})

var moduleSpecs = map[string]spec{
	"mod_mam": mamOpts.with(spec{
		"pm": {kind: kTable, sub: mamOpts.with(spec{
			"archive_groupchats":    boolOpt,
			"same_mam_id_for_peers": boolOpt,
		})},
		"muc": {kind: kTable, sub: mamOpts.with(spec{"host": subdomOpt})},
	}),
	"mod_muc_light": commonOpts.with(spec{
		"host":                        subdomOpt,
		"cache_affs":                  anyTableOpt,
		"equal_occupants":             boolOpt,
		"rooms_per_user":              posOrInf,
		"blocking":                    boolOpt,
		"all_can_configure":           boolOpt,
		"all_can_invite":              boolOpt,
		"max_occupants":               posOrInf,
		"rooms_per_page":              posOrInf,
		"rooms_in_rosters":            boolOpt,
		"allow_multiple_owners":       boolOpt,
		"promote_on_last_owner_leave": boolOpt,
		"config_schema": {kind: kTableList, sub: spec{
			"field":         strOpt,
			"string_value":  strOpt,
			"integer_value": {kind: kInt},
			"float_value":   {kind: kFloat},
			"boolean_value": boolOpt,
			"internal_key":  strOpt,
		}},
		"legacy_mode": {kind: kBool, removed: "removed in MongooseIM after 6.8.0"},
	}),
	"mod_roster":   commonOpts.with(spec{"versioning": boolOpt, "store_current_id": boolOpt}),
	"mod_presence": {},
	"mod_offline": commonOpts.with(spec{
		"access_max_user_messages": strOpt,
		"store_groupchat_messages": boolOpt,
	}),
	"mod_disco": commonOpts.with(spec{
		"extra_domains": strListOpt,
		"server_info": {kind: kTableList, sub: spec{
			"name": strOpt, "urls": strListOpt, "modules": strListOpt,
		}},
		"users_can_see_hidden_services": boolOpt,
	}),
	"mod_vcard": commonOpts.with(spec{
		"host":    subdomOpt,
		"search":  boolOpt,
		"matches": posOrInf,
		"ldap":    anyTableOpt,
	}),
	"mod_last":       commonOpts,
	"mod_privacy":    commonOpts,
	"mod_blocking":   commonOpts,
	"mod_private":    commonOpts,
	"mod_carboncopy": commonOpts,
	"mod_sic":        commonOpts,
	"mod_time":       commonOpts,
	"mod_version":    commonOpts.with(spec{"os_info": boolOpt}),
	"mod_adhoc":      commonOpts.with(spec{"report_commands_node": boolOpt}),
	"mod_ping": commonOpts.with(spec{
		"send_pings":       boolOpt,
		"ping_interval":    posIntOpt,
		"ping_req_timeout": posIntOpt,
		"timeout_action":   {kind: kEnum, words: []string{"none", "kill"}},
	}),
	"mod_stream_management": commonOpts.with(spec{
		"buffer":         boolOpt,
		"buffer_max":     {kind: kPosIntOr, words: []string{"infinity", "no_buffer"}},
		"ack":            boolOpt,
		"ack_freq":       {kind: kPosIntOr, words: []string{"never"}},
		"resume_timeout": posIntOpt,
		"stale_h": {kind: kTable, sub: spec{
			"enabled": boolOpt, "repeat_after": posIntOpt, "geriatric": posIntOpt,
		}},
	}),
	"mod_csi": commonOpts.with(spec{
		"buffer_max": {kind: kNonNegIntOr, words: []string{"infinity"}},
	}),
	"mod_register": commonOpts.with(spec{
		"access": strOpt,
		"ip_access": {kind: kTableList, sub: spec{
			"address": strOpt,
			"policy":  {kind: kEnum, words: []string{"allow", "deny"}},
		}},
		"password_strength":     nonNegOpt,
		"welcome_message":       {kind: kTable, sub: spec{"subject": strOpt, "body": strOpt}},
		"registration_watchers": strListOpt,
	}),
	"mod_domain_isolation": {},
}
