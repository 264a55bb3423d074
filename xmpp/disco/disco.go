// Package disco answers XEP-0030 service discovery (disco#info and disco#items)
// for the server JID and for account JIDs.
//
// The features a JID advertises are not configured by hand: they are disco's own
// two namespaces, every namespace the router has an IQ handler for at that kind of
// address and host type (so registering ping makes urn:xmpp:ping appear), and the
// namespaces other modules add to a Registry for features that are not IQ
// handlers (message carbons' namespace is an IQ, msgoffline is not).
package disco

import (
	"context"
	"slices"
	"sync"

	"github.com/mongoose-go/mongoose-go/xmpp/router"
	"github.com/mongoose-go/mongoose-go/xmpp/stanza"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// DefaultName is the server identity's name when Config.Name is empty.
const DefaultName = "mongoose-go"

// Item is one disco#items entry.
type Item struct {
	JID, Node, Name string
}

// ItemsFunc lists the items of a server JID (a domain of hostType): the
// subdomains of its services, typically (muclight.<domain>, upload.<domain>).
type ItemsFunc func(hostType, domain string) []Item

type featureKey struct {
	hostType string
	target   router.Target
	ns       string
}

// Registry holds the extra features and item sources of modules, per host type
// ("" for every host type). The zero value is not usable; use NewRegistry. It is
// safe for concurrent use.
type Registry struct {
	mu       sync.RWMutex
	features map[featureKey]struct{}
	items    map[string][]ItemsFunc
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{features: make(map[featureKey]struct{}), items: make(map[string][]ItemsFunc)}
}

// AddFeature advertises ns on the targets (router.ToServer, ToAccount or both) of
// domains of hostType.
func (g *Registry) AddFeature(hostType string, targets router.Target, ns string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range []router.Target{router.ToServer, router.ToAccount} {
		if targets&t != 0 {
			g.features[featureKey{hostType, t, ns}] = struct{}{}
		}
	}
}

// RemoveFeature undoes AddFeature.
func (g *Registry) RemoveFeature(hostType string, targets router.Target, ns string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range []router.Target{router.ToServer, router.ToAccount} {
		if targets&t != 0 {
			delete(g.features, featureKey{hostType, t, ns})
		}
	}
}

// Features returns the registered features of one target (ToServer or ToAccount)
// for hostType, including those registered for every host type, unsorted.
func (g *Registry) Features(hostType string, target router.Target) []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []string
	for k := range g.features {
		if k.target == target && (k.hostType == "" || k.hostType == hostType) {
			out = append(out, k.ns)
		}
	}
	return out
}

// AddItems adds an item source for the server JIDs of hostType.
func (g *Registry) AddItems(hostType string, fn ItemsFunc) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.items[hostType] = append(g.items[hostType], fn)
}

// Items returns the items of a domain of hostType.
func (g *Registry) Items(hostType, domain string) []Item {
	g.mu.RLock()
	fns := append(slices.Clip(g.items[""]), g.items[hostType]...)
	g.mu.RUnlock()
	var out []Item
	for _, fn := range fns {
		out = append(out, fn(hostType, domain)...)
	}
	return out
}

// Config configures the disco handlers.
type Config struct {
	// Registry adds module features and items; nil means none.
	Registry *Registry
	// Accounts, when set, limits the account/registered identity to accounts that
	// exist (the sender's own always does). The router already refuses IQs to
	// missing accounts when it has Accounts itself.
	Accounts router.Accounts
	// Name is the server identity's name; DefaultName when empty.
	Name string
}

// Register installs disco#info and disco#items for hostType ("" for every host
// type) on server and account JIDs.
func Register(r *router.Router, hostType string, cfg Config) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Registry == nil {
		cfg.Registry = NewRegistry()
	}
	d := &handler{r: r, cfg: cfg}
	r.HandleIQ(hostType, stanza.NSDiscoInf, router.ToBoth, d.info)
	r.HandleIQ(hostType, stanza.NSDiscoIt, router.ToBoth, d.items)
}

type handler struct {
	r   *router.Router
	cfg Config
}

// check rejects what both queries reject: a set, a wrong element, and any node
// (none is defined yet, so every node is unknown: XEP-0030 section 3.2 says
// item-not-found).
func check(q *router.IQ) *xmlstream.Element {
	switch {
	case q.Payload.Local != "query":
		return q.Error(stanza.BadRequest, "")
	case q.El.Attr("type") != "get":
		return q.Error(stanza.NotAllowed, "")
	case q.Payload.Attr("node") != "":
		return q.Error(stanza.ItemNotFound, "")
	}
	return nil
}

func (d *handler) info(_ context.Context, q *router.IQ) *xmlstream.Element {
	if e := check(q); e != nil {
		return e
	}
	res := xmlstream.NewElement(stanza.NSDiscoInf, "query")
	switch {
	case q.Target == router.ToServer:
		res.AddChild(identity("server", "im", d.cfg.Name))
	case q.OwnAccount() || d.cfg.Accounts == nil || d.cfg.Accounts.UserExists(q.To.Domain(), q.To.Local()):
		res.AddChild(identity("account", "registered", ""))
	}
	for _, ns := range d.features(q.HostType, q.Target) {
		res.AddChild(xmlstream.NewElement(stanza.NSDiscoInf, "feature", xmlstream.Attr{Local: "var", Value: ns}))
	}
	return q.Result(res)
}

// features merges disco's own namespaces, the router's IQ namespaces and the
// registry's, sorted and without duplicates.
func (d *handler) features(hostType string, target router.Target) []string {
	fs := append([]string{stanza.NSDiscoInf, stanza.NSDiscoIt}, d.r.IQNamespaces(hostType, target)...)
	fs = append(fs, d.cfg.Registry.Features(hostType, target)...)
	slices.Sort(fs)
	return slices.Compact(fs)
}

func (d *handler) items(_ context.Context, q *router.IQ) *xmlstream.Element {
	if e := check(q); e != nil {
		return e
	}
	res := xmlstream.NewElement(stanza.NSDiscoIt, "query")
	if q.Target == router.ToServer {
		for _, it := range d.cfg.Registry.Items(q.HostType, q.To.Domain()) {
			el := xmlstream.NewElement(stanza.NSDiscoIt, "item", xmlstream.Attr{Local: "jid", Value: it.JID})
			if it.Node != "" {
				el.SetAttr("node", it.Node)
			}
			if it.Name != "" {
				el.SetAttr("name", it.Name)
			}
			res.AddChild(el)
		}
	}
	// Accounts have no items until PEP exists.
	return q.Result(res)
}

func identity(category, typ, name string) *xmlstream.Element {
	el := xmlstream.NewElement(stanza.NSDiscoInf, "identity",
		xmlstream.Attr{Local: "category", Value: category}, xmlstream.Attr{Local: "type", Value: typ})
	if name != "" {
		el.SetAttr("name", name)
	}
	return el
}
