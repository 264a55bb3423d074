package config

import (
	"math"
	"slices"
	"time"
)

// hostConfigs reads the [[host_config]] array. Each entry must name a static
// host or a host type ("host" is a synonym of "host_type" in MongooseIM 6;
// a static host's host type is its own name) and may appear once.
func (p *parser) hostConfigs(root *tbl, g General, mods *moduleUse) []HostConfig {
	v, ok := root.raw("host_config")
	if !ok {
		return nil
	}
	items, _ := p.asTableList("host_config", v)
	var out []HostConfig
	for _, t := range items {
		hc, ok := p.hostConfig(t, g, mods)
		if !ok {
			continue
		}
		if slices.ContainsFunc(out, func(o HostConfig) bool { return o.HostType == hc.HostType }) {
			p.errorf(t.path, "duplicate host_config for %q", hc.HostType)
			continue
		}
		out = append(out, hc)
	}
	return out
}

func (p *parser) hostConfig(t *tbl, g General, mods *moduleUse) (HostConfig, bool) {
	hc := HostConfig{key: t.path}
	known := true
	switch {
	case t.has("host") && t.has("host_type"):
		p.errorf(t.key("host"), "conflicts with host_type: set one of them")
		known = false
	case t.has("host_type"):
		ht := t.nonEmptyStr("host_type", "")
		if ht != "" && !slices.Contains(g.HostTypes, ht) && !slices.Contains(g.Hosts, ht) {
			p.errorf(t.key("host_type"), "unknown host type %q: not in general.host_types or general.hosts", ht)
			known = false
		}
		hc.HostType = ht
	case t.has("host"):
		h := t.nonEmptyStr("host", "")
		switch d, err := NormalizeDomain(h); {
		case h == "":
		case slices.Contains(g.HostTypes, h):
			hc.HostType = h
		case err == nil && slices.Contains(g.Hosts, d):
			hc.HostType = d
		default:
			p.errorf(t.key("host"), "unknown host %q: not in general.hosts or general.host_types", h)
			known = false
		}
	default:
		p.errorf(t.key("host_type"), "required (or host)")
		known = false
	}
	if hc.HostType == "" {
		known = false
	}

	if s := t.sub("general"); s != nil {
		hc.ReplacedWaitTimeout = time.Duration(s.integer("replaced_wait_timeout", 0, 1, math.MaxInt64)) * time.Millisecond
		s.ignore("route_subdomains")
		s.finish()
	}
	if s := t.sub("auth"); s != nil {
		a := p.auth(s)
		hc.Auth = &a
	}
	if s := t.sub("modules"); s != nil {
		m, names := p.modules(s)
		hc.Modules = m
		mods.add(s.path, names)
	}
	if s := t.sub("acl"); s != nil {
		hc.ACL = p.acl(s)
	}
	if s := t.sub("access"); s != nil {
		hc.Access = p.access(s)
	}
	if s := t.sub("outgoing_pools"); s != nil {
		p.outgoingPools(s, false)
	}
	if _, ok := t.raw("s2s"); ok {
		p.warnf(t.key("s2s"), "s2s is not implemented, ignored")
	}
	t.finish()
	return hc, known
}
