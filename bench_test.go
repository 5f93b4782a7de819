package bitnet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/org/bitnet/internal/demo"
	"github.com/org/bitnet/internal/gguf"
	"github.com/org/bitnet/internal/modelgen"
)

// Benchmarks of whole forward passes. model=demo always runs; model=2b4t (a
// 2B4T-shaped model with random ternary weights, about 1.2 GB, written to a
// temporary folder once) runs when BITNET_BENCH_2B4T is set, to a model
// path or to 1:
//
//	BITNET_BENCH_2B4T=1 go test -run '^$' -bench 'Prefill|DecodeTokens' -benchtime 3x -count 5 .

var (
	bigOnce sync.Once
	bigPath string
	bigErr  error
)

func benchModels(b *testing.B) map[string]func() (*Model, error) {
	models := map[string]func() (*Model, error){
		"demo": func() (*Model, error) { return LoadGGUF(demo.GGUF, WithThreads(2)) },
	}
	env := os.Getenv("BITNET_BENCH_2B4T")
	if env == "" {
		return models
	}
	models["2b4t"] = func() (*Model, error) {
		bigOnce.Do(func() {
			if env != "1" {
				bigPath = env
				return
			}
			dir, err := os.MkdirTemp("", "bitnet-2b4t")
			if err != nil {
				bigErr = err
				return
			}
			spec := modelgen.TwoB4T
			if v, err := gguf.Open(filepath.Join("testdata", "tokenizer", "llama3-vocab.gguf")); err == nil {
				defer v.Close()
				spec.VocabFrom = v
			}
			bigPath = filepath.Join(dir, "2b4t.gguf")
			bigErr = spec.WriteFile(bigPath)
		})
		if bigErr != nil {
			return nil, bigErr
		}
		return Load(bigPath, WithThreads(2), WithContextSize(512), WithBatchSize(128))
	}
	return models
}

func BenchmarkPrefill(b *testing.B) {
	for _, name := range []string{"demo", "2b4t"} {
		load, ok := benchModels(b)[name]
		if !ok {
			continue
		}
		for _, n := range []int{32, 128} {
			b.Run(fmt.Sprintf("model=%s/tokens=%d", name, n), func(b *testing.B) {
				m, err := load()
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				ids := make([]int, n)
				for i := range ids {
					ids[i] = (i * 7919) % min(m.Info().VocabSize, 1000)
				}
				s, err := m.NewSession()
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for range b.N {
					s.Truncate(0)
					if err := s.Eval(context.Background(), ids); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

func BenchmarkDecodeTokens(b *testing.B) {
	for _, name := range []string{"demo", "2b4t"} {
		load, ok := benchModels(b)[name]
		if !ok {
			continue
		}
		b.Run("model="+name, func(b *testing.B) {
			m, err := load()
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			s, err := m.NewSession()
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := s.Eval(ctx, []int{1, 2, 3, 4}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				if s.Len() == m.Info().ContextSize {
					s.Truncate(4)
				}
				if err := s.Eval(ctx, []int{(i * 31) % 1000}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
