package bitnet

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// hfGolden returns the golden references of the Hugging Face checkpoints,
// with path pointing at the checkpoint directory in testdata/hf.
func hfGolden(t *testing.T) []*golden {
	var gs []*golden
	for _, js := range goldenFiles(t, "tiny-hf-*.json") {
		g := loadGolden(t, js)
		g.path = filepath.Join("testdata", "hf", strings.TrimSuffix(g.Model, "/"))
		gs = append(gs, g)
	}
	require.Len(t, gs, 3)
	return gs
}

// checkGoldenModel loads path and compares its logits with g's, for the
// whole sequence in batches and token by token.
func checkGoldenModel(t *testing.T, g *golden, path string, opts ...LoadOption) *Model {
	t.Helper()
	m, err := Load(path, append([]LoadOption{WithBatchSize(7)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	require.Equal(t, g.Shape[1], m.Info().VocabSize)

	s, err := m.NewSession()
	require.NoError(t, err)
	batch, err := s.eval(context.Background(), g.Tokens, true)
	require.NoError(t, err)
	checkLogits(t, g, batch)

	s2, err := m.NewSession()
	require.NoError(t, err)
	var step [][]float32
	for _, tok := range g.Tokens {
		require.NoError(t, s2.Eval(context.Background(), []int{tok}))
		step = append(step, append([]float32(nil), s2.Logits()...))
	}
	checkLogits(t, g, step)
	return m
}

func TestGoldenHF(t *testing.T) {
	for _, g := range hfGolden(t) {
		t.Run(filepath.Base(g.path), func(t *testing.T) {
			m := checkGoldenModel(t, g, g.path, WithThreads(2))
			info := m.Info()
			require.Equal(t, "safetensors", info.Format)
			require.Equal(t, g.Arch, info.Architecture)
			require.Equal(t, "relu2", info.Activation)
			require.Equal(t, "BF16", info.EmbeddingType)
			require.True(t, info.TiedEmbeddings)
			if strings.HasSuffix(g.path, "bf16") {
				require.Equal(t, "BF16", info.WeightType)
			} else {
				require.Equal(t, "U8 packed", info.WeightType)
			}
			require.Equal(t, 509, m.Tokenizer().BOS())
		})
	}
}
