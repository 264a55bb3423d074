package cmd

import (
	"encoding/json"
	"testing"

	"github.com/mongoose-go/mongoose-go/cmd/apiclient"
)

func TestStatus(t *testing.T) {
	f, _ := newFakeAPI(t)
	f.addDomains("basic", "a.org", "b.org")
	out := mustRun(t, "", "status")
	want := "node:             mongoose@localhost\n" +
		"raft state:       Leader\n" +
		"leader:           mongoose@localhost\n" +
		"leader address:   127.0.0.1:7946\n" +
		"applied index:    42\n" +
		"dynamic domains:  2\n"
	if out != want {
		t.Fatalf("status:\n%s\nwant:\n%s", out, want)
	}

	var s apiclient.Status
	out = mustRun(t, "", "status", "-o", "json")
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("json %q: %v", out, err)
	}
	if s.RaftState != "Leader" || s.AppliedIndex != 42 || s.DynamicDomains != 2 || s.LeaderAddress != "127.0.0.1:7946" {
		t.Fatalf("decoded %+v", s)
	}
}
