package apiclient

import (
	"net/http"
	"net/url"
)

// DomainInfo describes one domain. GetDomain fills Domain from its argument; Type
// ("dynamic" or "static") is set by ListDomains only, because GET /domains/{d} does not
// carry it.
type DomainInfo struct {
	Domain   string `json:"domain"`
	HostType string `json:"host_type"`
	Status   string `json:"status"` // enabled, disabled or deleting
	Type     string `json:"type,omitempty"`
}

// HostType is one configured host type and how many dynamic domains it holds.
type HostType struct {
	Name    string `json:"name"`
	Domains int    `json:"domains"`
}

// Request bodies of the domain endpoints.
type (
	AddDomainRequest struct {
		HostType string `json:"host_type"`
	}
	RemoveDomainRequest struct {
		HostType string `json:"host_type"`
		Request  bool   `json:"request,omitempty"` // true: asynchronous removal (202)
	}
	EnableDomainRequest struct {
		Enabled bool `json:"enabled"`
	}
	DomainPasswordRequest struct {
		Password string `json:"password"`
	}
)

func domainPath(name string) (string, error) {
	seg, err := escape("domain", name)
	if err != nil {
		return "", err
	}
	return "/domains/" + seg, nil
}

// AddDomain creates a dynamic domain bound to hostType. An existing domain gives an error
// matching ErrDuplicate.
func (c *Client) AddDomain(name, hostType string) error {
	p, err := domainPath(name)
	if err != nil {
		return err
	}
	err = c.do(http.MethodPut, p, AddDomainRequest{HostType: hostType}, nil)
	return err
}

// RemoveDomain deletes a dynamic domain and all its data. With async the server only
// accepts the request (202) and keeps deleting in the background; the domain shows status
// "deleting" until it is gone.
func (c *Client) RemoveDomain(name, hostType string, async bool) error {
	p, err := domainPath(name)
	if err != nil {
		return err
	}
	err = c.do(http.MethodDelete, p, RemoveDomainRequest{HostType: hostType, Request: async}, nil)
	return err
}

// EnableDomain re-enables a disabled domain.
func (c *Client) EnableDomain(name string) error { return c.setEnabled(name, true) }

// DisableDomain disables a domain: its sessions close and new streams are refused.
func (c *Client) DisableDomain(name string) error { return c.setEnabled(name, false) }

func (c *Client) setEnabled(name string, enabled bool) error {
	p, err := domainPath(name)
	if err != nil {
		return err
	}
	err = c.do(http.MethodPatch, p, EnableDomainRequest{Enabled: enabled}, nil)
	return err
}

// GetDomain returns one dynamic domain's host type and status.
func (c *Client) GetDomain(name string) (DomainInfo, error) {
	p, err := domainPath(name)
	if err != nil {
		return DomainInfo{}, err
	}
	var d DomainInfo
	if err := c.do(http.MethodGet, p, nil, &d); err != nil {
		return DomainInfo{}, err
	}
	if d.Domain == "" {
		d.Domain = name
	}
	return d, nil
}

// ListDomains returns all domains (static and dynamic) sorted by name, or only those of
// hostType when it is non-empty. The result is never nil.
func (c *Client) ListDomains(hostType string) ([]DomainInfo, error) {
	p := "/domains"
	if hostType != "" {
		p += "?" + url.Values{"host_type": {hostType}}.Encode()
	}
	out := []DomainInfo{}
	if err := c.do(http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	if out == nil { // a "null" body
		out = []DomainInfo{}
	}
	return out, nil
}

// HostTypes lists the configured host types with their dynamic domain counts.
func (c *Client) HostTypes() ([]HostType, error) {
	out := []HostType{}
	if err := c.do(http.MethodGet, "/host_types", nil, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []HostType{}
	}
	return out, nil
}

// SetDomainPassword sets (or replaces) the domain admin password.
func (c *Client) SetDomainPassword(name, password string) error {
	p, err := domainPath(name)
	if err != nil {
		return err
	}
	err = c.do(http.MethodPut, p+"/password", DomainPasswordRequest{Password: password}, nil)
	return err
}

// DeleteDomainPassword removes the domain admin password.
func (c *Client) DeleteDomainPassword(name string) error {
	p, err := domainPath(name)
	if err != nil {
		return err
	}
	err = c.do(http.MethodDelete, p+"/password", nil, nil)
	return err
}
