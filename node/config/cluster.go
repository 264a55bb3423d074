package config

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// defaultCluster is a single node on loopback. node_name is fixed rather
// than derived from the hostname so that a node's raft identity never
// changes behind its back (a renamed machine would otherwise come back as a
// stranger to its own cluster); every node of a multi-node cluster must set
// its own.
func defaultCluster() Cluster {
	return Cluster{
		NodeName: "mongoose@localhost",
		DataDir:  "./data",
		Listen:   "127.0.0.1:7946",
		Join:     []string{},
	}
}

// cluster reads mongoose-go's own [cluster] section.
func (p *parser) cluster(root *tbl) Cluster {
	c := defaultCluster()
	t := root.sub("cluster")
	if t == nil {
		return c
	}
	c.NodeName = t.nonEmptyStr("node_name", c.NodeName)
	if strings.ContainsFunc(c.NodeName, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		p.errorf(t.key("node_name"), "must not contain spaces or control characters")
	}
	c.DataDir = t.nonEmptyStr("data_dir", c.DataDir)
	c.Listen = t.str("listen", c.Listen)
	p.checkHostPort(t.key("listen"), c.Listen, true)
	c.Advertise = t.str("advertise", "")
	if c.Advertise != "" {
		if p.checkHostPort(t.key("advertise"), c.Advertise, false) && isUnspecifiedHost(c.Advertise) {
			p.errorf(t.key("advertise"), "must be an address peers can dial, not %q", c.Advertise)
		}
	} else if isUnspecifiedHost(c.Listen) {
		p.errorf(t.key("advertise"), "required when cluster.listen binds all interfaces (%s)", c.Listen)
	}
	if join, ok := t.strList("join"); ok {
		c.Join = join
		for i, j := range join {
			p.checkHostPort(indexKey(t.key("join"), i), j, false)
		}
	}
	c.Secret = t.str("secret", "")
	if c.Secret == "" && !isLoopbackHost(c.Listen) {
		p.warnf(t.key("secret"), "empty while the cluster port is reachable from the network: peers are not authenticated")
	}
	t.finish()
	return c
}

// checkHostPort validates a host:port; listen allows an empty host.
func (p *parser) checkHostPort(key, s string, listen bool) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		p.errorf(key, "must be host:port, got %q", s)
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		p.errorf(key, "port must be between 1 and 65535, got %q", port)
		return false
	}
	if host == "" && !listen {
		p.errorf(key, "host missing in %q", s)
		return false
	}
	return true
}

func isUnspecifiedHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}

func isLoopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
