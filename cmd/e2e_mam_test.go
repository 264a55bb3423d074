package cmd

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mongoose-go/mongoose-go/node/mesh/meshtest"
	"github.com/mongoose-go/mongoose-go/xmpp/xmlstream"
)

// What the server acknowledged is durable: a message acked with XEP-0198 <a h/> is in
// the sender's archive after the node is killed with SIGKILL and restarted.
func TestBinaryAckedMessageSurvivesKill(t *testing.T) {
	bin := buildBinary(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	cfgPath, api, c2s := writeConfigWith(t, dataDir, `
[[host_config]]
  host_type = "advanced"
  [host_config.modules.mod_roster]
  [host_config.modules.mod_presence]
  [host_config.modules.mod_stream_management]
  [host_config.modules.mod_mam]
    pm = {}
`)
	p := serve(t, bin, cfgPath, api)
	mustCLI(t, bin, api, "domain", "add", "durable.example", "--host-type", "advanced")
	mustCLI(t, bin, api, "user", "add", "alice@durable.example", "--password", "pw")
	mustCLI(t, bin, api, "user", "add", "bob@durable.example", "--password", "pw")

	c, err := meshtest.Login(c2s, "alice", "durable.example", "pw", "phone")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Send(`<enable xmlns='urn:xmpp:sm:3'/>`)
	if _, err := c.Expect(5*time.Second, meshtest.Named("enabled")); err != nil {
		t.Fatalf("enable: %v", err)
	}
	c.Send(meshtest.Message("bob@durable.example", "acked before the crash"))
	c.Send(`<r xmlns='urn:xmpp:sm:3'/>`)
	a, err := c.Expect(5*time.Second, func(el *xmlstream.Element) bool { return el.Local == "a" })
	if err != nil || a.Attr("h") != "1" {
		t.Fatalf("ack: %v %v", a, err)
	}

	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	serve(t, bin, cfgPath, api)
	resp, err := http.Get(api + "/messages/alice@durable.example")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "acked before the crash") {
		t.Fatalf("archive after kill -9: %d %s", resp.StatusCode, body)
	}
}
