package bpe

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func BenchmarkParseJSON(b *testing.B) {
	f, err := os.Open(testdata + "tokenizer.json.gz")
	require.NoError(b, err)
	zr, err := gzip.NewReader(f)
	require.NoError(b, err)
	data, err := io.ReadAll(zr)
	require.NoError(b, err)
	f.Close()
	b.ResetTimer()
	for b.Loop() {
		cfg, err := ParseJSON(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := New(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	cfg, err := llama3Config()
	require.NoError(b, err)
	for b.Loop() {
		if _, err := New(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

func goSource(b *testing.B) string {
	data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "net", "http", "server.go"))
	require.NoError(b, err)
	return string(data)
}

func BenchmarkEncodeGoSource(b *testing.B) {
	tok := loadLlama3(b)
	text := goSource(b)
	b.SetBytes(int64(len(text)))
	var dst []int
	for b.Loop() {
		dst = tok.Encode(dst[:0], text, true)
	}
}
