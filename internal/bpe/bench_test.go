package bpe

import (
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	require.NoError(b, err)
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "src", "net", "http", "server.go"))
	require.NoError(b, err)
	return string(data)
}

// BenchmarkEncodeGoSource encodes Go source with the piece cache warm
// (cache=warm, the same text again) and emptied before each run (cache=cold).
func BenchmarkEncodeGoSource(b *testing.B) {
	tok := loadLlama3(b)
	text := goSource(b)
	for _, cold := range []bool{false, true} {
		name := "cache=warm"
		if cold {
			name = "cache=cold"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			var dst []int
			for b.Loop() {
				if cold {
					for i := range tok.cache.slots {
						tok.cache.slots[i].Store(nil)
					}
				}
				dst = tok.Encode(dst[:0], text, true)
			}
		})
	}
}
