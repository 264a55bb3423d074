package node

// SetPurgeFault makes every purge step of a domain removal call fn first and stop on
// its error.
func (n *Node) SetPurgeFault(fn func(domain, step string) error) {
	if fn == nil {
		n.purgeFault.Store(nil)
		return
	}
	n.purgeFault.Store(&fn)
}

// Purging reports whether a background removal of domain is running on this node.
func (n *Node) Purging(domain string) bool {
	n.purgeMu.Lock()
	defer n.purgeMu.Unlock()
	return n.purging[domain]
}
