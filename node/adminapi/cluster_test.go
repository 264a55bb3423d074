package adminapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mongoose-go/mongoose-go/node"
	"github.com/mongoose-go/mongoose-go/node/adminapi"
)

func TestClusterREST(t *testing.T) {
	ts, n := startAPI(t, adminapi.Config{Path: "/api"})
	code, body, _ := do(t, ts, call{method: "GET", path: "/api/cluster"}, nil)
	var st node.ClusterStatus
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("GET /cluster: %d %s", code, body)
	}
	if st.Leader != n.Name() || len(st.Servers) != 1 || !st.Servers[0].Reachable || st.Servers[0].Address != n.RaftAddr() ||
		st.Servers[0].Suffrage != "voter" || !st.Servers[0].Leader {
		t.Fatalf("cluster status %+v", st)
	}
	run(t, ts, []call{
		{"no body", "POST", "/api/cluster/join", "", 400, `"Invalid request body"`},
		{"no address", "POST", "/api/cluster/join", `{}`, 400, `"'address' field is missing"`},
		{"bad address", "POST", "/api/cluster/join", `{"address":"nowhere"}`, 400, `"Invalid address \"nowhere\": want host:port"`},
		{"bad force", "POST", "/api/cluster/join", `{"address":"127.0.0.1:1","force":"yes"}`, 400, `"Invalid request body"`},
		{"own address", "POST", "/api/cluster/join", `{"address":"` + n.RaftAddr() + `"}`, 409, ""},
		{"last node leaves", "POST", "/api/cluster/leave", "", 409, `"refused: the only node of a cluster cannot leave it"`},
		{"remove self", "DELETE", "/api/cluster/nodes/" + n.Name(), "", 409, ""},
		{"remove unknown", "DELETE", "/api/cluster/nodes/ghost", "", 404, `"no such node in the cluster: \"ghost\""`},
	})
	code, body, _ = do(t, ts, call{method: "POST", path: "/api/cluster/join", body: `{"address":"127.0.0.1:1"}`}, nil)
	if code != 502 || !strings.Contains(body, "could not join the cluster") || !strings.Contains(body, "127.0.0.1:1") {
		t.Fatalf("join an unreachable address: %d %s", code, body)
	}
}
