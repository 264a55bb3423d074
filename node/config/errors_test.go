package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestErrorFixtures loads every testdata/config/errors/*.toml. Each file
// names the keys it must be rejected for in "# want: KEY" header lines; the
// set of keys with Error problems must be exactly that set, so a fixture
// fails both when its error is missed and when unrelated errors pile on.
func TestErrorFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdata, "errors", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".toml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := wantKeys(t, string(data))
			c, probs, err := Parse(data)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if c != nil {
				t.Error("config returned along with an error")
			}
			var got []string
			for _, p := range probs.Errors() {
				if !slices.Contains(got, p.Key) {
					got = append(got, p.Key)
				}
				if !strings.Contains(err.Error(), p.String()) {
					t.Errorf("error message does not list %q", p)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("error keys %q, want %q\n%s", got, want, probs)
			}
		})
	}
}

func wantKeys(t *testing.T, src string) []string {
	t.Helper()
	var keys []string
	for line := range strings.Lines(src) {
		k, ok := strings.CutPrefix(strings.TrimSpace(line), "# want:")
		if !ok {
			continue
		}
		keys = append(keys, strings.TrimSpace(k))
	}
	if len(keys) == 0 {
		t.Fatal("fixture has no '# want:' line")
	}
	slices.Sort(keys)
	return keys
}
