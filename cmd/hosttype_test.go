package cmd

import "testing"

func TestHostTypeList(t *testing.T) {
	f, _ := newFakeAPI(t)
	f.addDomains("premium", "p1.org", "p2.org")
	f.addDomains("basic", "b.org")
	if out := mustRun(t, "", "host-type", "list"); out != "NAME     DOMAINS\nbasic    1\npremium  2\n" {
		t.Fatalf("table %q", out)
	}
	want := "[\n  {\n    \"name\": \"basic\",\n    \"domains\": 1\n  },\n  {\n    \"name\": \"premium\",\n    \"domains\": 2\n  }\n]\n"
	if out := mustRun(t, "", "host-type", "list", "-o", "json"); out != want {
		t.Fatalf("json %q", out)
	}
}
