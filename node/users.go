package node

import (
	"context"
	"errors"

	bolt "go.etcd.io/bbolt"

	"github.com/mongoose-go/mongoose-go/store"
	"github.com/mongoose-go/mongoose-go/xmpp/jid"
)

// ErrDomainNotServed means the domain is unknown, disabled or being deleted.
var ErrDomainNotServed = store.ErrDomainDisabled

// account normalises a domain and username and returns the domain's host type. Only
// domains in service can have accounts changed.
func (n *Node) account(domain, user string) (d, u, hostType string, err error) {
	d, err = NormalizeDomain(domain)
	if err != nil {
		return "", "", "", err
	}
	u, err = jid.NormalizeLocal(user)
	if err != nil {
		return "", "", "", ErrInvalidUser
	}
	ht, ok := n.dir.HostTypeOf(d)
	if !ok {
		return d, u, "", ErrDomainNotServed
	}
	return d, u, ht, nil
}

// RegisterUser creates an account. The password is hashed here, before proposing, so
// every node stores the same salt and keys.
func (n *Node) RegisterUser(ctx context.Context, domain, user, password string) (jid.JID, error) {
	d, u, ht, err := n.account(domain, user)
	if err != nil {
		return jid.JID{}, err
	}
	if password == "" {
		return jid.JID{}, ErrEmptyPassword
	}
	pol := n.authPolicy(ht)
	creds, err := n.deriveCreds(pol, password)
	if err != nil {
		return jid.JID{}, err
	}
	j, err := jid.New(u, d, "")
	if err != nil {
		return jid.JID{}, ErrInvalidUser
	}
	_, err = n.Apply(ctx, &store.AddUser{Domain: d, User: u, Creds: creds, Static: n.dir.IsStatic(d), MaxUsers: pol.MaxUsers})
	return j, err
}

// ChangePassword replaces an account's password.
func (n *Node) ChangePassword(ctx context.Context, domain, user, password string) error {
	d, u, ht, err := n.account(domain, user)
	if err != nil {
		return err
	}
	if password == "" {
		return ErrEmptyPassword
	}
	creds, err := n.deriveCreds(n.authPolicy(ht), password)
	if err != nil {
		return err
	}
	_, err = n.Apply(ctx, &store.SetUserPassword{Domain: d, User: u, Creds: creds, Static: n.dir.IsStatic(d)})
	return err
}

// RemoveUser deletes an account; the XMPP layer closes its sessions when it sees the
// store.RemoveUser commit (OnApplied).
func (n *Node) RemoveUser(ctx context.Context, domain, user string) error {
	d, u, _, err := n.account(domain, user)
	if err != nil && !errors.Is(err, ErrDomainNotServed) {
		return err
	}
	_, err = n.Apply(ctx, &store.RemoveUser{Domain: d, User: u})
	return err
}

// ListUsers returns the bare JIDs of a domain's accounts, sorted.
func (n *Node) ListUsers(domain string) ([]string, error) {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return nil, err
	}
	out := []string{}
	err = n.fsm.View(func(tx *bolt.Tx) error {
		return store.ForEachUser(tx, d, func(u string) error {
			out = append(out, u+"@"+d)
			return nil
		})
	})
	return out, err
}

// UserCreds returns an account's stored credentials (for SASL).
func (n *Node) UserCreds(domain, user string) (string, bool) {
	var creds string
	var ok bool
	_ = n.fsm.View(func(tx *bolt.Tx) error {
		creds, ok = store.GetUserCreds(tx, domain, user)
		return nil
	})
	return creds, ok
}

// CheckPassword verifies a user's password (SASL PLAIN).
func (n *Node) CheckPassword(domain, user, password string) bool {
	creds, ok := n.UserCreds(domain, user)
	return ok && verifyCreds(creds, password)
}

func (n *Node) authPolicy(hostType string) AuthPolicy {
	if n.opts.Auth != nil {
		p := n.opts.Auth(hostType)
		if p.Iterations <= 0 {
			p.Iterations = defaultIterations
		}
		return p
	}
	return AuthPolicy{Iterations: defaultIterations}
}

func (n *Node) iterations() int { return n.authPolicy("").Iterations }

const defaultIterations = 10000
