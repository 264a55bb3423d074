package scram

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// mongooseDocExample is the serialised password "padthai" from MongooseIM's
// doc/developers-guide/SCRAM-serialization.md (line breaks removed).
const mongooseDocExample = "==MULTI_SCRAM==,4096," +
	"===SHA1===QClQsw/sfPEnwj4AEp6E1w==|ys1104hRhqMoRputBY5sLHKXoSw=|EJvxXWM42tO7BgW21lNZyBc1dD0=," +
	"==SHA224==dk0ImXFVPoUfqD5FveV7YA==|G0ibQ/YYuCtoun4I+1IF2zJ7Q8x2T23ETnq5Gg==|EvE2EkZcUb3k4CooeOcVFy95P32t+NDX0xbQUA==," +
	"==SHA256==M7BYKSo04XbzBr4C7b056g==|A779MC05nSGQln5no0hKTGHFSaQ7oguKBZgORW3s+es=|XhtGFf6NDWsnVSCO4xkzPD3qc046fPL0pATZi7RmaWo=," +
	"==SHA384==Ryu0fA29gbwgqFOBk5Mczw==|k3QwC0Lb1y1/V/31byC5KML5t3mH4JTPjFyeAz7lV2l4SPfzi3JHvLEdoNB5K/VY|kR+LMI/E0QBG3oF405/MTAT6NAlCOfPrFOaWH3WBVGM0Viu9Brk6kGwVwXjSP8v0," +
	"==SHA512==SLNuVNcWiNBmnYZNIdj+zg==|3ey3gzSsmbxcLnoc1VKCR/739uKX6uuPCyAzn6x8o87ibcjOdUaU8qhL5X4MUI9UPTt667GagNpVTmAWTFNsjA==|jUUDbuQ9ae4UnAWS6RV6W4yifX3La3ESjfZjGol+TBROIb/ihR8UawPHrSHkp4yyDJXtRhR9RlHCHy4bcCm1Yg=="

func TestMongooseIMExample(t *testing.T) {
	c, err := Unmarshal(mongooseDocExample)
	if err != nil {
		t.Fatal(err)
	}
	if c.Iterations != 4096 || len(c.ByHash) != 5 {
		t.Fatalf("Unmarshal: iterations %d, %d hashes", c.Iterations, len(c.ByHash))
	}
	// Our derivation reproduces MongooseIM's keys from the same salt.
	for _, h := range AllHashes() {
		stored := c.ByHash[h]
		got, err := NewCredential(h, "padthai", stored.Salt, 4096)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, stored) {
			t.Errorf("%s: derived %+v, MongooseIM stored %+v", h, got, stored)
		}
	}
	if got := c.Marshal(); got != mongooseDocExample {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, mongooseDocExample)
	}
	if !Verify(c, "padthai") || Verify(c, "padthai ") || Verify(c, "Padthai") {
		t.Error("Verify does not tell padthai from other passwords")
	}
}

func TestUnmarshalLegacy(t *testing.T) {
	// The pre-3.7 single SHA-1 example from the same MongooseIM document.
	const legacy = "==SCRAM==,tmi5IE+9pceRV/jkPLFHEaVY33c=,MiWNa8T3dniVDwmh77ufJ41fpAQ=,inKXODlSY5y5SCsLxibi0w==,4096"
	c, err := Unmarshal(legacy)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.ByHash[SHA1]; !ok || len(c.ByHash) != 1 || c.Iterations != 4096 {
		t.Fatalf("Unmarshal(legacy) = %+v", c)
	}
	if !Verify(c, "misio") || Verify(c, "misia") {
		t.Error("Verify on legacy credentials")
	}
	want := "==MULTI_SCRAM==,4096,===SHA1===inKXODlSY5y5SCsLxibi0w==|tmi5IE+9pceRV/jkPLFHEaVY33c=|MiWNa8T3dniVDwmh77ufJ41fpAQ="
	if got := c.Marshal(); got != want {
		t.Errorf("Marshal = %q, want %q", got, want)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	const sha1Sec = "===SHA1===QClQsw/sfPEnwj4AEp6E1w==|ys1104hRhqMoRputBY5sLHKXoSw=|EJvxXWM42tO7BgW21lNZyBc1dD0="
	for _, s := range []string{
		"",
		"pencil",
		"==MULTI_SCRAM==",
		"==MULTI_SCRAM==,4096",
		"==MULTI_SCRAM==,4096,",
		"==MULTI_SCRAM==,0," + sha1Sec,
		"==MULTI_SCRAM==,-1," + sha1Sec,
		"==MULTI_SCRAM==,x," + sha1Sec,
		"==MULTI_SCRAM==,4096," + sha1Sec + "," + sha1Sec,
		"==MULTI_SCRAM==,4096,==SHA512=QClQsw/sfPEnwj4AEp6E1w==|a|b",
		"==MULTI_SCRAM==,4096,==MD5=====QClQsw/sfPEnwj4AEp6E1w==|a|b",
		"==MULTI_SCRAM==,4096,===SHA1===QClQsw/sfPEnwj4AEp6E1w==|ys1104hRhqMoRputBY5sLHKXoSw=",
		"==MULTI_SCRAM==,4096,===SHA1===|ys1104hRhqMoRputBY5sLHKXoSw=|EJvxXWM42tO7BgW21lNZyBc1dD0=",
		"==MULTI_SCRAM==,4096,===SHA1===!!!|ys1104hRhqMoRputBY5sLHKXoSw=|EJvxXWM42tO7BgW21lNZyBc1dD0=",
		// A SHA-256-sized key under the SHA-1 prefix.
		"==MULTI_SCRAM==,4096,===SHA1===QClQsw/sfPEnwj4AEp6E1w==|A779MC05nSGQln5no0hKTGHFSaQ7oguKBZgORW3s+es=|EJvxXWM42tO7BgW21lNZyBc1dD0=",
		"==SCRAM==,tmi5IE+9pceRV/jkPLFHEaVY33c=,MiWNa8T3dniVDwmh77ufJ41fpAQ=,inKXODlSY5y5SCsLxibi0w==",
		"==SCRAM==,tmi5IE+9pceRV/jkPLFHEaVY33c=,MiWNa8T3dniVDwmh77ufJ41fpAQ=,inKXODlSY5y5SCsLxibi0w==,many",
	} {
		if c, err := Unmarshal(s); !errors.Is(err, ErrBadSerialization) {
			t.Errorf("Unmarshal(%q) = %+v, %v; want ErrBadSerialization", s, c, err)
		}
	}
}

func TestDerive(t *testing.T) {
	// A counting reader shows each hash gets its own SaltLen bytes, in order.
	var src bytes.Buffer
	for i := 0; i < 3*SaltLen; i++ {
		src.WriteByte(byte(i))
	}
	c, err := Derive("pencil", 4096, []Hash{SHA256, SHA1, SHA256, SHA512}, &src)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ByHash) != 3 || c.Iterations != 4096 || c.Plain != "" {
		t.Fatalf("Derive = %+v", c)
	}
	for i, h := range []Hash{SHA256, SHA1, SHA512} {
		cr := c.ByHash[h]
		if cr.Hash != h || cr.Iterations != 4096 || len(cr.Salt) != SaltLen || cr.Salt[0] != byte(i*SaltLen) {
			t.Errorf("%s: %+v", h, cr)
		}
		if len(cr.StoredKey) != h.Size() || len(cr.ServerKey) != h.Size() {
			t.Errorf("%s: key sizes %d/%d", h, len(cr.StoredKey), len(cr.ServerKey))
		}
	}
	if !Verify(c, "pencil") || Verify(c, "pencil2") {
		t.Error("Verify after Derive")
	}

	// Random salts differ between calls.
	a, b := derive(t, "pencil", SHA1), derive(t, "pencil", SHA1)
	if bytes.Equal(a.ByHash[SHA1].Salt, b.ByHash[SHA1].Salt) {
		t.Error("two Derive calls produced the same salt")
	}

	if _, err := Derive("pencil", 4096, nil, nil); err == nil {
		t.Error("Derive with no hashes succeeded")
	}
	if _, err := Derive("pencil", 0, []Hash{SHA1}, nil); err == nil {
		t.Error("Derive with 0 iterations succeeded")
	}
	if _, err := Derive("pencil", 1, []Hash{Hash(9)}, nil); err == nil {
		t.Error("Derive with invalid hash succeeded")
	}
	if _, err := Derive("pencil", 1, []Hash{SHA1}, strings.NewReader("short")); err == nil {
		t.Error("Derive with a short salt source succeeded")
	}
	for _, pw := range []string{"", "a\x00b", "bell\a"} {
		if _, err := Derive(pw, 1, []Hash{SHA1}, nil); !errors.Is(err, ErrInvalidPassword) {
			t.Errorf("Derive(%q) = %v, want ErrInvalidPassword", pw, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, hs := range [][]Hash{AllHashes(), {SHA512}, {SHA1, SHA384}} {
		c := derive(t, "pencil", hs...)
		s := c.Marshal()
		got, err := Unmarshal(s)
		if err != nil {
			t.Fatalf("Unmarshal(%q): %v", s, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip of %v:\n got %+v\nwant %+v", hs, got, c)
		}
	}
	if s := (Credentials{Plain: "x"}).Marshal(); s != "" {
		t.Errorf("Marshal of plain credentials = %q, want \"\"", s)
	}
}

func TestVerify(t *testing.T) {
	// OpaqueString maps non-ASCII spaces to U+0020 and applies NFC, so
	// equivalent spellings verify.
	c := derive(t, "a\u00a0cafe\u0301", SHA512)
	if !Verify(c, "a caf\u00e9") {
		t.Error("Verify does not prepare the password")
	}
	if Verify(c, "") || Verify(c, "a\x00") {
		t.Error("Verify accepted an invalid password")
	}
	plain := Credentials{Plain: "pencil"}
	if !Verify(plain, "pencil") || Verify(plain, "pencil2") || Verify(plain, "Pencil") {
		t.Error("Verify on plain credentials")
	}
	if Verify(Credentials{}, "anything") {
		t.Error("Verify on empty credentials succeeded")
	}
	// Only the stored hash is checked, whichever it is.
	if !Verify(derive(t, "x", SHA224), "x") {
		t.Error("Verify with SHA-224 only")
	}
}

func BenchmarkDerive(b *testing.B) {
	for _, h := range AllHashes() {
		b.Run(h.Mechanism(), func(b *testing.B) {
			for b.Loop() {
				if _, err := Derive("correct horse battery staple", DefaultIterations, []Hash{h}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkExchange(b *testing.B) {
	creds, err := Derive("pencil", DefaultIterations, []Hash{SHA256}, nil)
	if err != nil {
		b.Fatal(err)
	}
	lookup := users(map[string]Credentials{"juliet": creds})
	// The client's PBKDF2 is done once; the benchmark measures the server.
	c := &testClient{hash: SHA256, user: "juliet", password: "pencil"}
	s := NewServer("SCRAM-SHA-256", lookup, ChannelBinding{})
	s.newNonce = fixedNonce("server")
	sf, _, _ := s.Step(c.first())
	cf, err := c.final(sf)
	if err != nil {
		b.Fatal(err)
	}
	first := c.first()
	for b.Loop() {
		s := NewServer("SCRAM-SHA-256", lookup, ChannelBinding{})
		s.newNonce = fixedNonce("server")
		if _, _, err := s.Step(first); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Step(cf); err != nil {
			b.Fatal(err)
		}
	}
}
