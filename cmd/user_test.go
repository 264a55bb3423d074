package cmd

import (
	"strings"
	"testing"
)

func TestUserLifecycle(t *testing.T) {
	f, _ := newFakeAPI(t)
	f.addDomains("basic", "example.org")

	// The password is the first line of stdin; the rest is ignored.
	if out := mustRun(t, "secret\r\nnot this\n", "user", "add", "alice@example.org"); out != "added user alice@example.org\n" {
		t.Fatalf("add printed %q", out)
	}
	if pw := f.userPassword("example.org", "alice"); pw != "secret" {
		t.Fatalf("stored password %q", pw)
	}
	mustRun(t, "", "user", "add", "bob@example.org", "--password", "pw2")
	if out := mustRun(t, "", "user", "list", "example.org"); out != "alice@example.org\nbob@example.org\n" {
		t.Fatalf("list printed %q", out)
	}
	if out := mustRun(t, "", "user", "list", "example.org", "-o", "json"); out != "[\n  \"alice@example.org\",\n  \"bob@example.org\"\n]\n" {
		t.Fatalf("list -o json printed %q", out)
	}

	mustRun(t, "newsecret\n", "user", "passwd", "alice@example.org")
	if pw := f.userPassword("example.org", "alice"); pw != "newsecret" {
		t.Fatalf("password after passwd %q", pw)
	}
	mustRun(t, "", "user", "passwd", "alice@example.org", "--password", "third")
	if pw := f.userPassword("example.org", "alice"); pw != "third" {
		t.Fatalf("password after passwd --password %q", pw)
	}

	if out := mustRun(t, "", "user", "remove", "bob@example.org", "-o", "json"); !strings.Contains(out, `"result": "removed"`) {
		t.Fatalf("remove -o json printed %q", out)
	}
	if out := mustRun(t, "", "user", "list", "example.org"); out != "alice@example.org\n" {
		t.Fatalf("list after remove %q", out)
	}
	wantErr(t, "User does not exist or you are not authorised properly", "user", "remove", "bob@example.org")
}

func TestUserErrors(t *testing.T) {
	f, _ := newFakeAPI(t)
	f.addDomains("basic", "example.org")
	mustRun(t, "pw\n", "user", "add", "alice@example.org")

	wantErr(t, "User alice@example.org already registered at node mongoose@localhost",
		"user", "add", "alice@example.org", "--password", "x")
	wantErr(t, "Can't register user carol@nope.org at node mongoose@localhost: not_allowed",
		"user", "add", "carol@nope.org", "--password", "x")
	wantErr(t, errNoPassword.Error(), "user", "add", "dave@example.org")
	wantErr(t, "Password change not allowed", "user", "passwd", "nobody@example.org", "--password", "x")
	for _, bad := range []string{"alice", "@example.org", "alice@", "a@b@c", "alice@example.org/res"} {
		wantErr(t, `invalid JID "`+bad+`": want user@domain`, "user", "add", bad, "--password", "x")
	}
	wantErr(t, "accepts 1 arg(s), received 2", "user", "add", "alice", "example.org")
}

func TestUserImport(t *testing.T) {
	f, _ := newFakeAPI(t)
	f.addDomains("basic", "example.org", "other.org")
	mustRun(t, "", "user", "add", "alice@example.org", "--password", "old")

	file := writeFile(t, "User,Domain,Password\n"+
		"# staff\n"+
		"alice,example.org,new\n"+ // already there: counted, not failed, password untouched
		"bob,example.org,\"pa,ss\"\"word\"\n"+
		"carol,other.org,c\n"+
		"\n"+
		"erin,nope.org,e\n"+
		"frank,example.org,f\n")
	out, stderr, err := run(t, "", "user", "import", file)
	if out != "imported 3, already existed 1, failed 1\n" {
		t.Fatalf("summary %q", out)
	}
	if err == nil || err.Error() != "1 of 5 users failed" {
		t.Fatalf("error %v", err)
	}
	if stderr != "failed: line 7: erin@nope.org: Can't register user erin@nope.org at node mongoose@localhost: not_allowed\n" {
		t.Fatalf("stderr %q", stderr)
	}
	for user, want := range map[string]string{"alice": "old", "bob": `pa,ss"word`, "frank": "f"} {
		if got := f.userPassword("example.org", user); got != want {
			t.Errorf("%s password %q, want %q", user, got, want)
		}
	}
	if f.userPassword("other.org", "carol") != "c" {
		t.Error("carol not imported")
	}

	// No header, from stdin, all new: success.
	if out := mustRun(t, "gina,example.org,g\nhank,example.org,h\n", "user", "import", "-"); out != "imported 2, already existed 0, failed 0\n" {
		t.Fatalf("stdin import summary %q", out)
	}
}

func TestUserImportRejectsMalformedFileBeforeSending(t *testing.T) {
	f, _ := newFakeAPI(t)
	f.addDomains("basic", "example.org")
	file := writeFile(t, "ann,example.org,a\nben,example.org\n")
	_, _, err := run(t, "", "user", "import", file)
	if err == nil || !strings.Contains(err.Error(), "record on line 2: wrong number of fields") {
		t.Fatalf("error %v", err)
	}
	if f.userPassword("example.org", "ann") != "" {
		t.Fatal("a request was sent for a malformed file")
	}
	wantErr(t, "no users in -", "user", "import", "-")
	_, _, err = run(t, "ann@example.org,example.org,a\n", "user", "import", "-")
	if err == nil || err.Error() != "-: line 1: want user,domain,password with a bare user name" {
		t.Fatalf("JID in user column: %v", err)
	}
	headerOnly := writeFile(t, "user,domain,password\n")
	wantErr(t, "no users in "+headerOnly, "user", "import", headerOnly)
}
