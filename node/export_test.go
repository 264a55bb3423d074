package node

// SetPurgeFault makes every purge step of a domain removal call fn first and stop on
// its error.
func (n *Node) SetPurgeFault(fn func(domain string) error) { n.purgeFault = fn }
