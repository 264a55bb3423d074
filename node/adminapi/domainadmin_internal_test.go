package adminapi

import (
	"slices"
	"testing"

	"github.com/mongoose-go/mongoose-go/xmpp/sasl/scram"
)

// The stand-in a failed domain admin login verifies is a real SHA-512 credential at
// the default cost; a zero value would verify instantly and give the timing away.
func TestDummyCredential(t *testing.T) {
	c := dummy()
	if _, ok := c.ByHash[scram.SHA512]; !ok || c.Iterations != scram.DefaultIterations {
		t.Fatalf("stand-in credential: %d iterations, hashes %v", c.Iterations, c.ByHash)
	}
}

func TestWildcardsOf(t *testing.T) {
	for path, want := range map[string][]string{
		"/users/{domain}/{username}":          {"domain", "username"},
		"/contacts/{user}/{contact}/manage":   {"user", "contact"},
		"/stanzas":                            nil,
		"/muc-lights/{domain}/{id}/{rest...}": {"domain", "id", "rest"},
	} {
		if got := wildcardsOf(path); !slices.Equal(got, want) {
			t.Errorf("wildcardsOf(%q) = %q, want %q", path, got, want)
		}
	}
}
