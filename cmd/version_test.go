package cmd

import (
	"runtime"
	"testing"
)

func TestVersion(t *testing.T) {
	old := Version
	Version = "1.2.3-test"
	t.Cleanup(func() { Version = old })
	// No API call: the environment points nowhere reachable and it must still succeed.
	t.Setenv(envAPI, "http://127.0.0.1:1/api")
	out := mustRun(t, "", "version")
	want := "mongoose-go 1.2.3-test\n" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if out != want {
		t.Fatalf("version printed %q, want %q", out, want)
	}
}
