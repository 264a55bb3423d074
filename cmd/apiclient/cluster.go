package apiclient

import "net/http"

// ClusterStatus is a node's view of its cluster (GET /cluster).
type ClusterStatus struct {
	Node          string          `json:"node"`
	Leader        string          `json:"leader"`
	LeaderAddress string          `json:"leader_address"`
	Servers       []ClusterServer `json:"servers"`
}

// ClusterServer is one server of the cluster configuration.
type ClusterServer struct {
	Name         string `json:"name"`
	Address      string `json:"address"`
	Suffrage     string `json:"suffrage"`
	Leader       bool   `json:"leader"`
	Reachable    bool   `json:"reachable"`
	RaftState    string `json:"raft_state,omitempty"`
	AppliedIndex uint64 `json:"applied_index"`
	Error        string `json:"error,omitempty"`
}

// JoinClusterRequest is the body of POST /cluster/join.
type JoinClusterRequest struct {
	// Address is a member's cluster address (host:port); several may be given,
	// separated by commas.
	Address string `json:"address"`
	// Force discards the node's own data, which joining replaces with the cluster's.
	Force bool `json:"force,omitempty"`
}

// ClusterStatus returns the cluster as the node sees it.
func (c *Client) ClusterStatus() (ClusterStatus, error) {
	var s ClusterStatus
	err := c.do(http.MethodGet, "/cluster", nil, &s)
	return s, err
}

// JoinCluster makes the node behind this client join the cluster of the member at
// address.
func (c *Client) JoinCluster(address string, force bool) error {
	return c.do(http.MethodPost, "/cluster/join", JoinClusterRequest{Address: address, Force: force}, nil)
}

// LeaveCluster makes the node behind this client leave its cluster.
func (c *Client) LeaveCluster() error {
	return c.do(http.MethodPost, "/cluster/leave", nil, nil)
}

// RemoveClusterNode removes the named node from the cluster.
func (c *Client) RemoveClusterNode(name string) error {
	seg, err := escape("node", name)
	if err != nil {
		return err
	}
	return c.do(http.MethodDelete, "/cluster/nodes/"+seg, nil, nil)
}
