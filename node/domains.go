package node

import (
	"context"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
)

// Domain operations follow MongooseIM's mongoose_domain_api: each is a chain of checks
// on this node (static? host type allowed?) followed by one replicated write whose
// apply does the checks that need the store (duplicate, not found, wrong host type).

// NormalizeDomain validates and normalises a domain name from an API caller.
func NormalizeDomain(name string) (string, error) {
	d, err := jid.NormalizeDomain(name)
	if err != nil {
		return "", ErrInvalidDomain
	}
	return d, nil
}

// IsHostType reports whether ht is one of general.host_types (static hosts' implicit
// host types are not: MongooseIM refuses them for dynamic domains).
func (n *Node) IsHostType(ht string) bool { return slices.Contains(n.opts.HostTypes, ht) }

// HostTypes returns the configured host types, in config order.
func (n *Node) HostTypes() []string { return slices.Clone(n.opts.HostTypes) }

// AddDomain creates an enabled dynamic domain.
func (n *Node) AddDomain(ctx context.Context, name, hostType string) error {
	name, err := NormalizeDomain(name)
	if err != nil {
		return err
	}
	if n.dir.IsStatic(name) {
		return ErrStatic
	}
	if !n.IsHostType(hostType) {
		return ErrUnknownHostType
	}
	_, err = n.Apply(ctx, &store.AddDomain{Name: name, HostType: hostType})
	return err
}

// Domain returns a domain's details (static ones included, flagged Static).
func (n *Node) Domain(name string) (DomainInfo, error) {
	name, err := NormalizeDomain(name)
	if err != nil {
		return DomainInfo{}, err
	}
	d, ok := n.dir.Get(name)
	if !ok {
		return DomainInfo{}, store.ErrDomainNotFound
	}
	return d, nil
}

// ListDomains returns static and dynamic domains sorted by name, optionally only those
// of one host type (which must exist).
func (n *Node) ListDomains(hostType string) ([]DomainInfo, error) {
	if hostType != "" && !n.IsHostType(hostType) && !n.dir.IsStatic(hostType) {
		return nil, ErrUnknownHostType
	}
	return n.dir.List(hostType), nil
}

// SetDomainEnabled enables or disables a dynamic domain. Disabling takes it out of
// service on every node as the entry applies (sessions are closed by directory watchers).
func (n *Node) SetDomainEnabled(ctx context.Context, name string, enabled bool) error {
	name, err := NormalizeDomain(name)
	if err != nil {
		return err
	}
	if n.dir.IsStatic(name) {
		return ErrStatic
	}
	d, ok := n.dir.Get(name)
	if !ok {
		return store.ErrDomainNotFound
	}
	if !n.IsHostType(d.HostType) {
		return ErrUnknownHostType
	}
	_, err = n.Apply(ctx, &store.SetDomainEnabled{Name: name, Enabled: enabled})
	return err
}

// RemoveDomain removes a dynamic domain and all its data. With async it returns once
// the domain is marked deleting (out of service everywhere) and the purge runs in the
// background; otherwise it returns when the domain row is gone.
func (n *Node) RemoveDomain(ctx context.Context, name, hostType string, async bool) error {
	name, err := NormalizeDomain(name)
	if err != nil {
		return err
	}
	if n.dir.IsStatic(name) {
		return ErrStatic
	}
	if !n.IsHostType(hostType) {
		return ErrUnknownHostType
	}
	if _, err := n.Apply(ctx, &store.MarkDomainDeleting{Name: name, HostType: hostType}); err != nil {
		return err
	}
	if async {
		n.purgeAsync(name)
		return nil
	}
	return n.purge(ctx, name)
}

// SetDomainPassword sets a domain admin password (SCRAM-SHA-512, as MongooseIM).
func (n *Node) SetDomainPassword(ctx context.Context, name, password string) error {
	name, err := NormalizeDomain(name)
	if err != nil {
		return err
	}
	if password == "" {
		return ErrEmptyPassword
	}
	creds, err := n.deriveCreds(AuthPolicy{Hashes: []string{"sha512"}, Iterations: n.iterations()}, password)
	if err != nil {
		return err
	}
	_, err = n.Apply(ctx, &store.SetDomainPassword{Domain: name, Static: n.dir.IsStatic(name), Creds: creds})
	return err
}

// DeleteDomainPassword removes a domain admin password.
func (n *Node) DeleteDomainPassword(ctx context.Context, name string) error {
	name, err := NormalizeDomain(name)
	if err != nil {
		return err
	}
	_, err = n.Apply(ctx, &store.DeleteDomainPassword{Domain: name})
	return err
}

// CheckDomainPassword verifies a domain admin's password. A domain that is not in
// service or has no password never verifies.
func (n *Node) CheckDomainPassword(name, password string) bool {
	name, err := NormalizeDomain(name)
	if err != nil {
		return false
	}
	if _, ok := n.dir.HostTypeOf(name); !ok {
		return false
	}
	var creds string
	var found bool
	if err := n.fsm.View(func(tx *bolt.Tx) error {
		creds, found = store.DomainPassword(tx, name)
		return nil
	}); err != nil || !found {
		return false
	}
	return verifyCreds(creds, password)
}
