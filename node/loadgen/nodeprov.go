package loadgen

import (
	"context"
	"errors"
	"fmt"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/store"
)

// NodeProvisioner provisions directly on a node in this process, skipping
// HTTP: benchmarks use it to set up thousands of accounts quickly.
type NodeProvisioner struct{ Node *node.Node }

// AddDomain creates an enabled dynamic domain.
func (p NodeProvisioner) AddDomain(domain, hostType string) error {
	err := p.Node.AddDomain(context.Background(), domain, hostType)
	if errors.Is(err, store.ErrDomainExists) {
		return fmt.Errorf("%w: %w", ErrExists, err)
	}
	return err
}

// AddUser registers an account.
func (p NodeProvisioner) AddUser(domain, user, password string) error {
	_, err := p.Node.RegisterUser(context.Background(), domain, user, password)
	if errors.Is(err, store.ErrUserExists) {
		return fmt.Errorf("%w: %w", ErrExists, err)
	}
	return err
}
