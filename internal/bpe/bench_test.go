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
	tok := loadLlama3(b)
	cfg := Config{Tokens: make([]string, tok.NumTokens()), Types: make([]TokenType, tok.NumTokens()), IgnoreMerges: true}
	for i := range cfg.Tokens {
		cfg.Types[i] = tok.Type(i)
		if cfg.Types[i].rawText() {
			cfg.Tokens[i] = tok.Token(i)
		} else {
			cfg.Tokens[i] = EncodeBytes(tok.Token(i))
		}
	}
	// Rebuild the merges from the pair table, in rank order.
	merges := make([]string, 0, 300000)
	type m struct{ a, b int32 }
	byRank := map[uint32]m{}
	p := &tok.pairs
	for _, s := range p.slots {
		if s != 0 {
			key := (s << 1) >> (p.rankBits + 1)
			byRank[uint32(s&(1<<p.rankBits-1))] = m{int32(key >> p.idBits), int32(key & (1<<p.idBits - 1))}
		}
	}
	for r := uint32(0); r < uint32(len(byRank)); r++ {
		x := byRank[r]
		merges = append(merges, cfg.Tokens[x.a]+" "+cfg.Tokens[x.b])
	}
	cfg.Merges = merges
	b.ResetTimer()
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
