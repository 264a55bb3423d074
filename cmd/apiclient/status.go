package apiclient

import "net/http"

// Status is the node's view of itself and the cluster (GET /status).
type Status struct {
	Node           string `json:"node"`
	RaftState      string `json:"raft_state"`
	Leader         string `json:"leader"`
	LeaderAddress  string `json:"leader_address"`
	AppliedIndex   uint64 `json:"applied_index"`
	DynamicDomains int    `json:"dynamic_domains"`
}

// Status returns the node and raft status.
func (c *Client) Status() (Status, error) {
	var s Status
	err := c.do(http.MethodGet, "/status", nil, &s)
	return s, err
}
