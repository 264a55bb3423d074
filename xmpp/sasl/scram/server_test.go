package scram

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixedNonce(n string) func() (string, error) {
	return func() (string, error) { return n, nil }
}

// TestPublishedExchanges replays the example exchanges of RFC 5802 section 5
// (SCRAM-SHA-1) and RFC 7677 section 3 (SCRAM-SHA-256): user "user",
// password "pencil", 4096 iterations.
func TestPublishedExchanges(t *testing.T) {
	tests := []struct {
		hash                                               Hash
		salt, serverNonce                                  string
		clientFirst, serverFirst, clientFinal, serverFinal string
	}{
		{
			hash:        SHA1,
			salt:        "QSXCR+Q6sek8bf92",
			serverNonce: "3rfcNHYJY1ZVvWVs7j",
			clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
			serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
			clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
			serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
		},
		{
			hash:        SHA256,
			salt:        "W22ZaJ0SNY7soEsUEjb6gQ==",
			serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
			clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
			serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
			clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		},
	}
	for _, tc := range tests {
		t.Run(tc.hash.Mechanism(), func(t *testing.T) {
			cr, err := NewCredential(tc.hash, "pencil", mustB64(t, tc.salt), 4096)
			if err != nil {
				t.Fatal(err)
			}
			creds := Credentials{Iterations: 4096, ByHash: map[Hash]Credential{tc.hash: cr}}
			s := NewServer(tc.hash.Mechanism(), users(map[string]Credentials{"user": creds}), ChannelBinding{})
			s.newNonce = fixedNonce(tc.serverNonce)

			got, done, err := s.Step([]byte(tc.clientFirst))
			if err != nil || done || string(got) != tc.serverFirst {
				t.Fatalf("server-first = %q, %v, %v; want %q", got, done, err, tc.serverFirst)
			}
			if s.Username() != "" {
				t.Error("Username set before the exchange finished")
			}
			got, done, err = s.Step([]byte(tc.clientFinal))
			if err != nil || !done || string(got) != tc.serverFinal {
				t.Fatalf("server-final = %q, %v, %v; want %q", got, done, err, tc.serverFinal)
			}
			if s.Username() != "user" {
				t.Errorf("Username() = %q", s.Username())
			}
			if _, _, err := s.Step([]byte(tc.clientFinal)); !errors.Is(err, ErrMalformedRequest) {
				t.Errorf("Step after success = %v, want ErrMalformedRequest", err)
			}
		})
	}
}

func derive(t testing.TB, password string, hashes ...Hash) Credentials {
	t.Helper()
	c, err := Derive(password, 4096, hashes, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExchangeAllMechanisms(t *testing.T) {
	creds := derive(t, "correct horse", AllHashes()...)
	lookup := users(map[string]Credentials{"juliet": creds})
	cb := ChannelBinding{Type: TLSExporter, Data: bytes.Repeat([]byte{7}, 32)}
	for _, h := range AllHashes() {
		t.Run(h.Mechanism(), func(t *testing.T) {
			s := NewServer(h.Mechanism(), lookup, ChannelBinding{})
			if err := exchange(t, s, &testClient{hash: h, user: "juliet", password: "correct horse"}, nil); err != nil {
				t.Fatal(err)
			}
			if s.Username() != "juliet" {
				t.Errorf("Username() = %q", s.Username())
			}
		})
		t.Run(h.PlusMechanism(), func(t *testing.T) {
			s := NewServer(h.PlusMechanism(), lookup, cb)
			c := &testClient{hash: h, user: "juliet", password: "correct horse", gs2Flag: "p=" + TLSExporter, cbData: cb.Data}
			if err := exchange(t, s, c, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWrongPassword(t *testing.T) {
	lookup := users(map[string]Credentials{"juliet": derive(t, "pencil", SHA256)})
	s := NewServer("SCRAM-SHA-256", lookup, ChannelBinding{})
	err := exchange(t, s, &testClient{hash: SHA256, user: "juliet", password: "pencil2"}, nil)
	if !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("wrong password: %v, want ErrNotAuthorized", err)
	}
	if s.Username() != "" {
		t.Errorf("Username() = %q after failure", s.Username())
	}
	if _, _, err := s.Step([]byte("anything")); !errors.Is(err, ErrMalformedRequest) {
		t.Errorf("Step after failure = %v", err)
	}
}

func TestUnknownUserLooksLikeKnownUser(t *testing.T) {
	lookup := users(map[string]Credentials{})
	firstSalt := ""
	for i := 0; i < 2; i++ {
		s := NewServer("SCRAM-SHA-1", lookup, ChannelBinding{}, WithIterations(4096))
		c := &testClient{hash: SHA1, user: "nobody", password: "x"}
		sf, _, err := s.Step(c.first())
		if err != nil {
			t.Fatalf("client-first for unknown user: %v", err)
		}
		attrs := strings.Split(string(sf), ",")
		if len(attrs) != 3 || attrs[2] != "i=4096" || len(mustB64(t, attrs[1][2:])) != SaltLen {
			t.Fatalf("server-first %q does not look like real credentials", sf)
		}
		if i == 0 {
			firstSalt = attrs[1]
		} else if attrs[1] != firstSalt {
			t.Errorf("unknown user got salt %s then %s; a real user's salt is stable", firstSalt, attrs[1])
		}
		cf, err := c.final(sf)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Step(cf); !errors.Is(err, ErrNotAuthorized) {
			t.Fatalf("unknown user: %v, want ErrNotAuthorized", err)
		}
	}
}

func TestCredentialSources(t *testing.T) {
	plain := Credentials{Plain: "pencil"}
	onlySHA1 := derive(t, "pencil", SHA1)
	lookup := users(map[string]Credentials{"plain": plain, "sha1only": onlySHA1})

	s := NewServer("SCRAM-SHA-512", lookup, ChannelBinding{}, WithIterations(4096))
	if err := exchange(t, s, &testClient{hash: SHA512, user: "plain", password: "pencil"}, nil); err != nil {
		t.Errorf("plain-format user: %v", err)
	}
	s = NewServer("SCRAM-SHA-512", lookup, ChannelBinding{}, WithIterations(4096))
	if err := exchange(t, s, &testClient{hash: SHA512, user: "plain", password: "Pencil"}, nil); !errors.Is(err, ErrNotAuthorized) {
		t.Errorf("plain-format user, wrong password: %v", err)
	}
	// No SHA-512 credentials stored: the mechanism cannot succeed.
	s = NewServer("SCRAM-SHA-512", lookup, ChannelBinding{}, WithIterations(4096))
	if err := exchange(t, s, &testClient{hash: SHA512, user: "sha1only", password: "pencil"}, nil); !errors.Is(err, ErrNotAuthorized) {
		t.Errorf("missing hash: %v, want ErrNotAuthorized", err)
	}

	failing := func(string) (Credentials, error) { return Credentials{}, errors.New("store closed") }
	s = NewServer("SCRAM-SHA-1", failing, ChannelBinding{})
	if _, _, err := s.Step((&testClient{user: "a"}).first()); !errors.Is(err, ErrTemporaryAuthFailure) {
		t.Errorf("lookup failure: %v, want ErrTemporaryAuthFailure", err)
	}
	corrupt := Credentials{Iterations: 1, ByHash: map[Hash]Credential{SHA1: {Hash: SHA1, Salt: []byte{1}, Iterations: 1, StoredKey: []byte{1}}}}
	s = NewServer("SCRAM-SHA-1", users(map[string]Credentials{"a": corrupt}), ChannelBinding{})
	if _, _, err := s.Step((&testClient{user: "a"}).first()); !errors.Is(err, ErrTemporaryAuthFailure) {
		t.Errorf("corrupt credentials: %v, want ErrTemporaryAuthFailure", err)
	}
}

func TestUsernamePreparation(t *testing.T) {
	var looked []string
	creds := derive(t, "pencil", SHA1)
	lookup := func(u string) (Credentials, error) {
		looked = append(looked, u)
		return creds, nil
	}
	for _, tc := range []struct{ sent, want string }{
		{"Juliet", "juliet"},
		{"ＪＵＬＩＥＴ", "juliet"},
		{"a,b=c", "a,b=c"}, // exercises saslname escaping both ways
	} {
		looked = nil
		s := NewServer("SCRAM-SHA-1", lookup, ChannelBinding{})
		if err := exchange(t, s, &testClient{hash: SHA1, user: tc.sent, password: "pencil"}, nil); err != nil {
			t.Errorf("user %q: %v", tc.sent, err)
			continue
		}
		if len(looked) != 1 || looked[0] != tc.want || s.Username() != tc.want {
			t.Errorf("user %q: looked up %q, Username %q; want %q", tc.sent, looked, s.Username(), tc.want)
		}
	}
	s := NewServer("SCRAM-SHA-1", lookup, ChannelBinding{})
	if _, _, err := s.Step([]byte("n,,n=a b,r=abc")); !errors.Is(err, ErrNotAuthorized) {
		t.Errorf("invalid localpart: %v, want ErrNotAuthorized", err)
	}
}

func TestTamperedClientFinal(t *testing.T) {
	lookup := users(map[string]Credentials{"juliet": derive(t, "pencil", SHA256)})
	tests := []struct {
		name string
		edit func(string) string
		want error
	}{
		{"nonce changed", func(m string) string {
			i := strings.Index(m, ",r=") + 3
			return m[:i] + "X" + m[i+1:]
		}, ErrNotAuthorized},
		{"nonce truncated to client part", func(m string) string {
			a := strings.Split(m, ",")
			a[1] = "r=fyko+d2lbbFgONRv9qkxdawL"
			return strings.Join(a, ",")
		}, ErrNotAuthorized},
		{"proof flipped", func(m string) string {
			i := strings.Index(m, ",p=") + 3
			p, _ := base64.StdEncoding.DecodeString(m[i:])
			p[0] ^= 1
			return m[:i] + base64.StdEncoding.EncodeToString(p)
		}, ErrNotAuthorized},
		{"gs2 header changed", func(m string) string {
			return strings.Replace(m, "c=biws", "c="+base64.StdEncoding.EncodeToString([]byte("y,,")), 1)
		}, ErrNotAuthorized},
		{"proof too short", func(m string) string {
			i := strings.Index(m, ",p=") + 3
			return m[:i] + "AAAA"
		}, ErrMalformedRequest},
		{"proof missing", func(m string) string { return m[:strings.Index(m, ",p=")] }, ErrMalformedRequest},
		{"proof not base64", func(m string) string { return m + "!" }, ErrMalformedRequest},
		{"cbind not base64", func(m string) string { return strings.Replace(m, "c=biws", "c=b!ws", 1) }, ErrMalformedRequest},
		{"attributes reordered", func(m string) string {
			a := strings.Split(m, ",")
			a[0], a[1] = a[1], a[0]
			return strings.Join(a, ",")
		}, ErrMalformedRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer("SCRAM-SHA-256", lookup, ChannelBinding{})
			err := exchange(t, s, &testClient{hash: SHA256, user: "juliet", password: "pencil"}, tc.edit)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// An extension between r= and p= is allowed and covered by the proof.
	s := NewServer("SCRAM-SHA-256", lookup, ChannelBinding{})
	c := &testClient{hash: SHA256, user: "juliet", password: "pencil"}
	sf, _, err := s.Step(c.first())
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := c.final(sf)
	withExt := strings.Replace(string(cf), ",p=", ",x=ext,p=", 1)
	if _, _, err := s.Step([]byte(withExt)); !errors.Is(err, ErrNotAuthorized) {
		t.Errorf("extension added after signing: %v, want ErrNotAuthorized", err)
	}
}

func TestChannelBindingPolicy(t *testing.T) {
	lookup := users(map[string]Credentials{"juliet": derive(t, "pencil", SHA256)})
	cb := ChannelBinding{Type: TLSExporter, Data: []byte("0123456789abcdef0123456789abcdef")}
	tests := []struct {
		name   string
		mech   string
		cb     ChannelBinding
		flag   string
		cbData []byte
		want   error // nil: success
	}{
		{"plus, matching data", "SCRAM-SHA-256-PLUS", cb, "p=tls-exporter", cb.Data, nil},
		{"plus, other data", "SCRAM-SHA-256-PLUS", cb, "p=tls-exporter", []byte("0123456789abcdef0123456789abcdeX"), ErrNotAuthorized},
		{"plus, no data sent", "SCRAM-SHA-256-PLUS", cb, "p=tls-exporter", nil, ErrNotAuthorized},
		{"plus, other type", "SCRAM-SHA-256-PLUS", cb, "p=tls-unique", cb.Data, ErrNotAuthorized},
		{"plus, flag n", "SCRAM-SHA-256-PLUS", cb, "n", nil, ErrMalformedRequest},
		{"plus, flag y", "SCRAM-SHA-256-PLUS", cb, "y", nil, ErrMalformedRequest},
		{"plus without binding on offer", "SCRAM-SHA-256-PLUS", ChannelBinding{}, "p=tls-exporter", nil, ErrInvalidMechanism},
		{"non-plus, flag p", "SCRAM-SHA-256", cb, "p=tls-exporter", cb.Data, ErrMalformedRequest},
		{"non-plus, flag y, plus offered (downgrade)", "SCRAM-SHA-256", cb, "y", nil, ErrNotAuthorized},
		{"non-plus, flag y, plus not offered", "SCRAM-SHA-256", ChannelBinding{}, "y", nil, nil},
		{"non-plus, flag n, plus offered", "SCRAM-SHA-256", cb, "n", nil, nil},
		{"unknown mechanism", "SCRAM-MD5", ChannelBinding{}, "n", nil, ErrInvalidMechanism},
		{"lowercase mechanism", "scram-sha-256", ChannelBinding{}, "n", nil, ErrInvalidMechanism},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(tc.mech, lookup, tc.cb)
			c := &testClient{hash: SHA256, user: "juliet", password: "pencil", gs2Flag: tc.flag, cbData: tc.cbData}
			err := exchange(t, s, c, nil)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestAuthzid(t *testing.T) {
	lookup := users(map[string]Credentials{"juliet": derive(t, "pencil", SHA1)})
	tests := []struct {
		authzid string
		domain  string
		ok      bool
	}{
		{"juliet", "", true},
		{"Juliet", "", true},
		{"juliet@example.com", "example.com", true},
		{"JULIET@Example.COM", "Example.com", true},
		{"juliet@example.com", "", false},
		{"juliet@example.org", "example.com", false},
		{"juliet@example.com/balcony", "example.com", false},
		{"romeo", "", false},
		{"romeo@example.com", "example.com", false},
		{"a=b", "", false},
	}
	for _, tc := range tests {
		s := NewServer("SCRAM-SHA-1", lookup, ChannelBinding{}, WithDomain(tc.domain))
		err := exchange(t, s, &testClient{hash: SHA1, user: "juliet", authzid: tc.authzid, password: "pencil"}, nil)
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, ErrInvalidAuthzid) {
			t.Errorf("authzid %q, domain %q: %v (want ok=%v)", tc.authzid, tc.domain, err, tc.ok)
		}
	}
}

func TestMalformedClientFirst(t *testing.T) {
	lookup := users(map[string]Credentials{"user": derive(t, "pencil", SHA1)})
	for _, msg := range []string{
		"",
		"n",
		"n,",
		"x,,n=user,r=abc",
		"p,,n=user,r=abc",
		"p=,,n=user,r=abc",
		"n,b=user,n=user,r=abc",
		"n,a=,n=user,r=abc",
		"n,a=x=41,n=user,r=abc",
		"n,,m=ext,n=user,r=abc",
		"n,,r=abc,n=user",
		"n,,n=user",
		"n,,n=,r=abc",
		"n,,n=us=er,r=abc",
		"n,,n=user,r=",
		"n,,n=user,r=a b",
		"n,,n=user,r=a\x7f",
		"n,,n=\xff,r=abc",
	} {
		s := NewServer("SCRAM-SHA-1", lookup, ChannelBinding{})
		if out, _, err := s.Step([]byte(msg)); !errors.Is(err, ErrMalformedRequest) {
			t.Errorf("client-first %q: %q, %v; want ErrMalformedRequest", msg, out, err)
		}
	}
}

func TestDecodeSASLName(t *testing.T) {
	for in, want := range map[string]string{"plain": "plain", "a=2Cb": "a,b", "=3D=3D": "==", "=2c": "", "=": "", "a=3": ""} {
		got, ok := decodeSASLName(in)
		if ok != (want != "") || got != want {
			t.Errorf("decodeSASLName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
