package bitnet

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// golden is a reference model with the logits an independent float64
// implementation computed for a token sequence (testdata/golden/README.md).
type golden struct {
	Model  string  `json:"model"`
	Arch   string  `json:"arch"`
	Tokens []int   `json:"tokens"`
	Shape  [2]int  `json:"logits_shape"`
	Argmax []int   `json:"argmax"`
	MaxAbs float64 `json:"max_abs_logit"`
	path   string
	logits [][]float32
}

func loadGolden(t testing.TB, jsonPath string) *golden {
	raw, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	var g golden
	require.NoError(t, json.Unmarshal(raw, &g))
	dir := filepath.Dir(jsonPath)
	g.path = filepath.Join(dir, g.Model)
	bin, err := os.ReadFile(strings.TrimSuffix(jsonPath, ".json") + ".logits.f32")
	require.NoError(t, err)
	n, v := g.Shape[0], g.Shape[1]
	require.Equal(t, n*v*4, len(bin))
	require.Equal(t, n, len(g.Tokens))
	for i := 0; i < n; i++ {
		row := make([]float32, v)
		for j := range row {
			row[j] = math.Float32frombits(binary.LittleEndian.Uint32(bin[4*(i*v+j):]))
		}
		g.logits = append(g.logits, row)
	}
	return &g
}

// checkLogits applies the golden tolerance: max |ours−ref| ≤ 0.03·max|ref|
// and mean |ours−ref| ≤ 0.002·max|ref| over the sequence, and the same
// argmax wherever the reference's top-2 margin is at least 0.01·max|ref|.
func checkLogits(t *testing.T, g *golden, got [][]float32) {
	t.Helper()
	require.Len(t, got, len(g.logits))
	maxRef := 0.0
	for _, row := range g.logits {
		for _, v := range row {
			maxRef = math.Max(maxRef, math.Abs(float64(v)))
		}
	}
	var maxDiff, sumDiff float64
	count := 0
	for i, row := range g.logits {
		require.Len(t, got[i], len(row), "position %d", i)
		for j, v := range row {
			d := math.Abs(float64(got[i][j]) - float64(v))
			maxDiff = math.Max(maxDiff, d)
			sumDiff += d
			count++
		}
		top1, top2 := topTwo(row)
		if float64(row[top1]-row[top2]) >= 0.01*maxRef {
			gotTop, _ := topTwo(got[i])
			require.Equal(t, top1, gotTop, "argmax at position %d", i)
		}
	}
	mean := sumDiff / float64(count)
	t.Logf("max|Δ| = %.4g (%.3f%% of max|ref|), mean|Δ| = %.4g (%.4f%%)", maxDiff, 100*maxDiff/maxRef, mean, 100*mean/maxRef)
	require.LessOrEqual(t, maxDiff, 0.03*maxRef, "max |Δ|")
	require.LessOrEqual(t, mean, 0.002*maxRef, "mean |Δ|")
}

func topTwo(x []float32) (int, int) {
	a, b := 0, -1
	for i := 1; i < len(x); i++ {
		switch {
		case x[i] > x[a]:
			a, b = i, a
		case b < 0 || x[i] > x[b]:
			b = i
		}
	}
	return a, b
}

func goldenFiles(t testing.TB, pattern string) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", pattern))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
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
	require.Equal(t, batch[len(batch)-1], s.Logits())

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

func TestGoldenGGUF(t *testing.T) {
	for _, js := range goldenFiles(t, "*.json") {
		g := loadGolden(t, js)
		if !strings.HasSuffix(g.Model, ".gguf") {
			continue
		}
		t.Run(strings.TrimSuffix(g.Model, ".gguf"), func(t *testing.T) {
			// The whole sequence in batches of 7 tokens (so that batch
			// boundaries fall inside it), then token by token.
			for _, threads := range []int{1, 3} {
				m := checkGoldenModel(t, g, g.path, WithThreads(threads))
				require.Equal(t, g.Arch, m.Info().Architecture)
			}
		})
	}
}

// TestGoldenDemo checks the embedded demo model against its reference
// logits and greedy continuation.
func TestGoldenDemo(t *testing.T) {
	g := loadGolden(t, filepath.Join("testdata", "demo", "go-demo.json"))
	g.path = filepath.Join("internal", "demo", "go-demo.gguf")
	m, err := Load(g.path, WithThreads(2))
	require.NoError(t, err)
	defer m.Close()
	s, err := m.NewSession()
	require.NoError(t, err)
	logits, err := s.eval(context.Background(), g.Tokens, true)
	require.NoError(t, err)
	checkLogits(t, g, logits)

	// The prompt tokenizes as the reference did, and greedy decoding
	// continues it the same way.
	var ref struct {
		Prompt       string `json:"prompt"`
		PromptTokens int    `json:"prompt_tokens"`
		GreedyText   string `json:"greedy_text"`
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "demo", "go-demo.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &ref))
	ids, err := m.encodePrompt(ref.Prompt)
	require.NoError(t, err)
	require.Equal(t, g.Tokens[:ref.PromptTokens], ids)
	res, err := m.Generate(context.Background(), ref.Prompt, &GenerateOptions{MaxTokens: len(g.Tokens) - ref.PromptTokens})
	require.NoError(t, err)
	require.Equal(t, g.Tokens[ref.PromptTokens:], res.Tokens)
	require.Equal(t, ref.GreedyText, ref.Prompt+res.Text)
	require.Equal(t, StopMaxTokens, res.StopReason)
}

// TestGoldenOutputInt8: with the int8 output matrix every golden model still
// meets the tolerance, and gives the same argmax as the exact pass wherever
// the exact pass's top-2 margin is at least 1% of max|ref| (the golden rule).
func TestGoldenOutputInt8(t *testing.T) {
	for _, js := range goldenFiles(t, "*.json") {
		g := loadGolden(t, js)
		if _, err := os.Stat(g.path); err != nil {
			continue
		}
		t.Run(strings.TrimSuffix(filepath.Base(g.path), filepath.Ext(g.path)), func(t *testing.T) {
			m, err := Load(g.path, WithThreads(2), WithOutputInt8())
			require.NoError(t, err)
			defer m.Close()
			require.Contains(t, m.Info().OutputType, "Q8")
			s, err := m.NewSession()
			require.NoError(t, err)
			got, err := s.eval(context.Background(), g.Tokens, true)
			require.NoError(t, err)
			checkLogits(t, g, got)
			exact, err := Load(g.path, WithThreads(2))
			require.NoError(t, err)
			defer exact.Close()
			s2, err := exact.NewSession()
			require.NoError(t, err)
			want, err := s2.eval(context.Background(), g.Tokens, true)
			require.NoError(t, err)
			for i := range want {
				a, a2 := topTwo(want[i])
				b, _ := topTwo(got[i])
				if float64(want[i][a]-want[i][a2]) >= 0.01*g.MaxAbs {
					require.Equal(t, a, b, "argmax at %d", i)
				}
			}
		})
	}
}
