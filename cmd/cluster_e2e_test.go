package cmd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
)

// The cluster end to end: three `mongoose-go serve` processes with their own config
// files, users on different nodes chatting over XMPP, kill -9 of the leader, writes
// resuming on the survivors, and the killed node catching up when it comes back.

type e2eNode struct {
	name, cfg, api, c2s, cluster string
	p                            *proc
}

func writeClusterConfig(t *testing.T, i int, join []string) *e2eNode {
	t.Helper()
	n := &e2eNode{name: fmt.Sprintf("n%d@localhost", i)}
	apiPort, c2sPort, clusterPort := freePort(t), freePort(t), freePort(t)
	n.api = fmt.Sprintf("http://127.0.0.1:%d/api", apiPort)
	n.c2s = fmt.Sprintf("127.0.0.1:%d", c2sPort)
	n.cluster = fmt.Sprintf("127.0.0.1:%d", clusterPort)
	joinTOML, _ := json.Marshal(append([]string{}, join...))
	cfg := fmt.Sprintf(`[general]
  hosts = ["localhost"]
  host_types = ["basic"]
  default_server_domain = "localhost"
[auth.password]
  scram_iterations = 64
[[listen.c2s]]
  port = %d
  ip_address = "127.0.0.1"
[[listen.http]]
  ip_address = "127.0.0.1"
  port = %d
  [[listen.http.handlers.mongoose_admin_api]]
    host = "localhost"
    path = "/api"
[services.service_domain_db]
[cluster]
  node_name = %q
  data_dir = %q
  listen = %q
  join = %s
  secret = "e2e-cluster-secret"
`, c2sPort, apiPort, n.name, filepath.Join(t.TempDir(), "data"), n.cluster, joinTOML)
	n.cfg = filepath.Join(t.TempDir(), fmt.Sprintf("node%d.toml", i))
	if err := os.WriteFile(n.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}

// sessionsOf lists a domain's sessions through a node's admin API (cluster-wide).
func sessionsOf(t *testing.T, api, domain string) []string {
	t.Helper()
	resp, err := http.Get(api + "/sessions/" + domain)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out []string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

func waitE2E(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBinaryThreeNodeCluster(t *testing.T) {
	bin := buildBinary(t)
	n1 := writeClusterConfig(t, 1, nil)
	n2 := writeClusterConfig(t, 2, []string{n1.cluster})
	n3 := writeClusterConfig(t, 3, []string{n1.cluster})
	nodes := []*e2eNode{n1, n2, n3}
	for _, n := range nodes {
		n.p = serve(t, bin, n.cfg, n.api)
	}
	waitE2E(t, 15*time.Second, "three reachable voters", func() bool {
		out, err := cli(t, bin, n3.api, "cluster", "status", "-o", "json")
		return err == nil && strings.Count(out, `"reachable": true`) == 3
	})

	mustCLI(t, bin, n2.api, "domain", "add", "chat.example", "--host-type", "basic")
	for _, u := range []string{"alice", "bob"} {
		mustCLI(t, bin, n3.api, "user", "add", u+"@chat.example", "--password", "pw-"+u)
	}
	login := func(n *e2eNode, user string) *meshtest.Client {
		t.Helper()
		var cl *meshtest.Client
		waitE2E(t, 10*time.Second, user+" logged in on "+n.name, func() bool {
			var err error
			cl, err = meshtest.Login(n.c2s, user, "chat.example", "pw-"+user, "e2e")
			return err == nil
		})
		t.Cleanup(cl.Kill)
		return cl
	}
	alice, bob := login(n1, "alice"), login(n3, "bob")
	// Every node lists both sessions: the mesh has carried them.
	for _, n := range nodes {
		waitE2E(t, 5*time.Second, "both sessions listed by "+n.name, func() bool {
			return slices.Equal(sessionsOf(t, n.api, "chat.example"), []string{"alice@chat.example/e2e", "bob@chat.example/e2e"})
		})
	}
	if err := alice.Send(meshtest.Message(bob.JID.String(), "hello from node 1")); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Expect(5*time.Second, meshtest.Body("hello from node 1")); err != nil {
		t.Fatal(err)
	}
	if err := bob.Send(meshtest.Message("alice@chat.example", "hello from node 3")); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Expect(5*time.Second, meshtest.Body("hello from node 3")); err != nil {
		t.Fatal(err)
	}

	// kill -9 the leader.
	var st struct{ Leader string }
	if err := json.Unmarshal([]byte(mustCLI(t, bin, n2.api, "cluster", "status", "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	var leader *e2eNode
	var survivors []*e2eNode
	for _, n := range nodes {
		if n.name == st.Leader {
			leader = n
		} else {
			survivors = append(survivors, n)
		}
	}
	if leader == nil {
		t.Fatalf("leader %q is none of the nodes", st.Leader)
	}
	killed := time.Now()
	leader.p.cmd.Process.Signal(syscall.SIGKILL)
	leader.p.cmd.Wait()

	// Writes on a survivor resume within 5 s (the CLI waits for an election itself).
	var added []string
	waitE2E(t, 5*time.Second, "a write accepted by a survivor", func() bool {
		_, err := cli(t, bin, survivors[0].api, "domain", "add", "down-0.example", "--host-type", "basic")
		return err == nil
	})
	resumed := time.Since(killed)
	t.Logf("leader %s killed; first write accepted %v later", leader.name, resumed)
	if resumed > 5*time.Second {
		t.Errorf("writes resumed after %v", resumed)
	}
	added = append(added, "down-0.example")
	for i := 1; i < 4; i++ {
		d := fmt.Sprintf("down-%d.example", i)
		mustCLI(t, bin, survivors[i%2].api, "domain", "add", d, "--host-type", "basic")
		added = append(added, d)
	}
	// The dead node's session left the survivors' tables.
	gone := map[*e2eNode]string{n1: "alice@chat.example/e2e", n3: "bob@chat.example/e2e"}[leader]
	for _, n := range survivors {
		if gone == "" {
			break // the leader held no session
		}
		waitE2E(t, 5*time.Second, "the dead node's session gone from "+n.name, func() bool {
			return !slices.Contains(sessionsOf(t, n.api, "chat.example"), gone)
		})
	}

	// The killed node comes back and reports every domain added while it was down.
	leader.p = serve(t, bin, leader.cfg, leader.api)
	waitE2E(t, 10*time.Second, "the restarted node to list the domains added while it was down", func() bool {
		out, err := cli(t, bin, leader.api, "domain", "list", "-o", "json")
		if err != nil {
			return false
		}
		for _, d := range added {
			if !strings.Contains(out, `"`+d+`"`) {
				return false
			}
		}
		return true
	})
	// And it rejoins the mesh: it lists the survivors' sessions again.
	survivorUser := map[*e2eNode]string{n1: "bob@chat.example/e2e", n3: "alice@chat.example/e2e"}[leader]
	if survivorUser != "" {
		waitE2E(t, 5*time.Second, "the restarted node to list the survivors' sessions", func() bool {
			return slices.Contains(sessionsOf(t, leader.api, "chat.example"), survivorUser)
		})
	}
}
