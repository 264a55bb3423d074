package scram

import (
	"errors"
	"testing"
)

func TestHashNames(t *testing.T) {
	want := []struct {
		h          Hash
		name, mech string
		size       int
	}{
		{SHA1, "sha", "SCRAM-SHA-1", 20},
		{SHA224, "sha224", "SCRAM-SHA-224", 28},
		{SHA256, "sha256", "SCRAM-SHA-256", 32},
		{SHA384, "sha384", "SCRAM-SHA-384", 48},
		{SHA512, "sha512", "SCRAM-SHA-512", 64},
	}
	for _, w := range want {
		if w.h.String() != w.name || w.h.Mechanism() != w.mech || w.h.PlusMechanism() != w.mech+"-PLUS" ||
			w.h.Size() != w.size || w.h.New().Size() != w.size {
			t.Errorf("%d: %q %q %q %d", int(w.h), w.h, w.h.Mechanism(), w.h.PlusMechanism(), w.h.Size())
		}
		if h, err := ParseHash(w.name); err != nil || h != w.h {
			t.Errorf("ParseHash(%q) = %v, %v", w.name, h, err)
		}
		var u Hash
		if b, err := w.h.MarshalText(); err != nil || u.UnmarshalText(b) != nil || u != w.h {
			t.Errorf("text round trip of %v: %q, %v, %v", w.h, b, err, u)
		}
		for _, plus := range []bool{false, true} {
			m := w.mech
			if plus {
				m += "-PLUS"
			}
			if h, p, err := ParseMechanism(m); err != nil || h != w.h || p != plus {
				t.Errorf("ParseMechanism(%q) = %v, %v, %v", m, h, p, err)
			}
		}
	}
	for _, bad := range []string{"", "sha1", "SHA256", "md5"} {
		if _, err := ParseHash(bad); err == nil {
			t.Errorf("ParseHash(%q) succeeded", bad)
		}
	}
	for _, bad := range []string{"", "PLAIN", "SCRAM-SHA-1-PLUS-PLUS", "SCRAM-SHA-3-256", "scram-sha-1"} {
		if _, _, err := ParseMechanism(bad); !errors.Is(err, ErrInvalidMechanism) {
			t.Errorf("ParseMechanism(%q) = %v", bad, err)
		}
	}
	invalid := Hash(0)
	if invalid.Valid() || invalid.Mechanism() != "" || invalid.Size() != 0 || invalid.String() != "Hash(0)" {
		t.Error("zero Hash looks valid")
	}
	if _, err := invalid.MarshalText(); err == nil {
		t.Error("MarshalText of invalid hash succeeded")
	}
}
