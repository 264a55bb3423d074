package config

import (
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkParseMongooseIMDefault(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(testdata, "mongooseim-default.toml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Default()
	}
}
