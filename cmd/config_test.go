package cmd

import (
	"bytes"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := NewRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestConfigCheck(t *testing.T) {
	out, err := runCLI(t, "config", "check", "../testdata/config/seed.toml")
	if err != nil || !strings.Contains(out, "ok") {
		t.Errorf("seed: %v\n%s", err, out)
	}
	out, err = runCLI(t, "config", "check", "../testdata/config/mongooseim-default.toml")
	if err != nil || !strings.Contains(out, "warning:") {
		t.Errorf("MongooseIM default: %v\n%s", err, out)
	}
	out, err = runCLI(t, "config", "check", "../testdata/config/errors/missing_default_server_domain.toml")
	if err == nil || !strings.Contains(out, "error: general.default_server_domain") {
		t.Errorf("missing default_server_domain: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "config", "check", "/nonexistent.toml"); err == nil {
		t.Error("missing file accepted")
	}
}
