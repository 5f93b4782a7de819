package bitnet

import (
	"go/build"
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkLoadTokenizerGGUF(b *testing.B) {
	for b.Loop() {
		if _, err := LoadTokenizer(llama3GGUF); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadTokenizerJSON(b *testing.B) {
	data, err := readGzip(llama3JSONGz)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := parseTokenizerJSON(data, "tokenizer.json", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// benchTexts returns English prose and Go source (net/http's server.go from
// GOROOT, or this package's own source when GOROOT has no sources).
func benchTexts(b *testing.B) map[string]string {
	prose, err := os.ReadFile(tokTestdata + "prose.txt")
	if err != nil {
		b.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(build.Default.GOROOT, "src", "net", "http", "server.go"))
	if err != nil {
		if src, err = os.ReadFile("tokenizer.go"); err != nil {
			b.Fatal(err)
		}
	}
	return map[string]string{"prose": string(prose), "gosource": string(src)}
}

func BenchmarkEncode(b *testing.B) {
	tok := llama3Tokenizer(b)
	texts := benchTexts(b)
	for _, name := range []string{"prose", "gosource"} {
		text := texts[name]
		b.Run("text="+name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				tok.Encode(text)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	tok := llama3Tokenizer(b)
	text := benchTexts(b)["gosource"]
	ids := tok.Encode(text)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Decode(ids)
	}
}
