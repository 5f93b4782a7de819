package bitnet

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/org/bitnet/internal/gguf"
	"github.com/org/bitnet/internal/modelgen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeModel writes spec, changed by edit, to a temporary file.
func writeModel(t testing.TB, spec modelgen.Spec, edit func(w *gguf.Writer)) string {
	t.Helper()
	w, err := spec.Writer()
	require.NoError(t, err)
	if edit != nil {
		edit(w)
	}
	p := filepath.Join(t.TempDir(), "model.gguf")
	require.NoError(t, w.WriteFile(p))
	return p
}

var (
	tinyOnce sync.Once
	tinyPath string
)

// tinyModel returns the path of a small random model shared by tests.
func tinyModel(t testing.TB) string {
	tinyOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bitnet-tiny")
		require.NoError(t, err)
		tinyPath = filepath.Join(dir, "tiny.gguf")
		require.NoError(t, modelgen.Tiny.WriteFile(tinyPath))
	})
	return tinyPath
}

func evalAll(t testing.TB, s *Session, ids []int) [][]float32 {
	t.Helper()
	out, err := s.eval(context.Background(), ids, true)
	require.NoError(t, err)
	return out
}

func TestBatchEqualsStepwise(t *testing.T) {
	m, err := Load(tinyModel(t), WithThreads(2), WithBatchSize(5))
	require.NoError(t, err)
	defer m.Close()
	ids := []int{381, 3, 17, 200, 45, 45, 9, 300, 12, 1, 2, 0, 100}
	s, err := m.NewSession()
	require.NoError(t, err)
	batch := evalAll(t, s, ids)
	s2, err := m.NewSession()
	require.NoError(t, err)
	for i, id := range ids {
		require.NoError(t, s2.Eval(context.Background(), []int{id}))
		assert.InDeltaSlice(t, batch[i], s2.Logits(), 1e-4, "position %d", i)
	}
}

func TestContextFullAndTruncate(t *testing.T) {
	m, err := Load(tinyModel(t), WithContextSize(10), WithThreads(2))
	require.NoError(t, err)
	defer m.Close()
	require.Equal(t, 10, m.Info().ContextSize)
	ctx := context.Background()
	s, err := m.NewSession()
	require.NoError(t, err)
	require.NoError(t, s.Eval(ctx, []int{1, 2, 3, 4, 5, 6, 7, 8}))
	before := append([]float32(nil), s.Logits()...)

	err = s.Eval(ctx, []int{9, 10, 11})
	require.ErrorIs(t, err, ErrContextFull)
	require.Equal(t, 8, s.Len(), "a failed Eval changes nothing")
	require.Equal(t, before, s.Logits())

	require.NoError(t, s.Eval(ctx, []int{9, 10}))
	require.Equal(t, 10, s.Len())
	require.ErrorIs(t, s.Eval(ctx, []int{1}), ErrContextFull)

	// Truncate, then continue: the same logits as a fresh session.
	require.NoError(t, s.Truncate(4))
	require.Nil(t, s.Logits())
	require.NoError(t, s.Eval(ctx, []int{50, 60, 70}))
	fresh, err := m.NewSession()
	require.NoError(t, err)
	require.NoError(t, fresh.Eval(ctx, []int{1, 2, 3, 4, 50, 60, 70}))
	require.InDeltaSlice(t, fresh.Logits(), s.Logits(), 1e-5)

	require.Error(t, s.Truncate(8))
	require.Error(t, s.Truncate(-1))
	require.Error(t, s.Eval(ctx, []int{-1}))
	require.Error(t, s.Eval(ctx, []int{m.Info().VocabSize}))
	require.Equal(t, 7, s.Len())
}

func TestCancelledEval(t *testing.T) {
	m, err := Load(tinyModel(t), WithThreads(2), WithBatchSize(4))
	require.NoError(t, err)
	defer m.Close()
	s, err := m.NewSession()
	require.NoError(t, err)
	require.NoError(t, s.Eval(context.Background(), []int{5, 6}))
	want := append([]float32(nil), s.Logits()...)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = s.Eval(ctx, make([]int, 20))
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 2, s.Len())
	require.Equal(t, want, s.Logits())

	// A context cancelled while the prompt runs stops it between layers.
	ctx, cancel = context.WithCancel(context.Background())
	calls := 0
	stopAfter := cancelAfter{Context: ctx, n: &calls, at: 5, cancel: cancel}
	err = s.Eval(stopAfter, make([]int, 20))
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 2, s.Len(), "a cancelled Eval leaves the session as it was")

	// The session is still usable.
	require.NoError(t, s.Eval(context.Background(), []int{7}))
	require.Equal(t, 3, s.Len())
}

// cancelAfter cancels its context on the at-th call of Err.
type cancelAfter struct {
	context.Context
	n      *int
	at     int
	cancel context.CancelFunc
}

func (c cancelAfter) Err() error {
	*c.n++
	if *c.n == c.at {
		c.cancel()
	}
	return c.Context.Err()
}

func TestClosed(t *testing.T) {
	m, err := Load(tinyModel(t))
	require.NoError(t, err)
	s, err := m.NewSession()
	require.NoError(t, err)
	require.NoError(t, m.Close())
	require.NoError(t, m.Close())
	require.ErrorIs(t, s.Eval(context.Background(), []int{1}), ErrClosed)
	_, err = m.NewSession()
	require.ErrorIs(t, err, ErrClosed)

	m2, err := Load(tinyModel(t))
	require.NoError(t, err)
	defer m2.Close()
	s2, err := m2.NewSession()
	require.NoError(t, err)
	require.NoError(t, s2.Close())
	require.ErrorIs(t, s2.Eval(context.Background(), []int{1}), ErrClosed)
	require.ErrorIs(t, s2.Truncate(0), ErrClosed)
}

func TestConcurrentSessions(t *testing.T) {
	m, err := Load(tinyModel(t), WithThreads(2))
	require.NoError(t, err)
	defer m.Close()
	ids := []int{381, 10, 20, 30, 40, 50}
	s, err := m.NewSession()
	require.NoError(t, err)
	require.NoError(t, s.Eval(context.Background(), ids))
	want := s.Logits()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.NewSession()
			if !assert.NoError(t, err) {
				return
			}
			for _, id := range ids {
				assert.NoError(t, s.Eval(context.Background(), []int{id}))
			}
			assert.InDeltaSlice(t, want, s.Logits(), 1e-4)
		}()
	}
	wg.Wait()
}

func TestInfo(t *testing.T) {
	m, err := Load(tinyModel(t))
	require.NoError(t, err)
	defer m.Close()
	info := m.Info()
	sp := modelgen.Tiny
	assert.Equal(t, "bitnet-b1.58", info.Architecture)
	assert.Equal(t, "gguf", info.Format)
	assert.Equal(t, "I2_S", info.WeightType)
	assert.Equal(t, "F16", info.EmbeddingType)
	assert.Equal(t, "relu2", info.Activation)
	assert.Equal(t, sp.Dim, info.Hidden)
	assert.Equal(t, sp.Layers, info.Layers)
	assert.Equal(t, sp.Heads, info.Heads)
	assert.Equal(t, sp.KVHeads, info.KVHeads)
	assert.Equal(t, sp.FFN, info.FFN)
	assert.Equal(t, sp.Vocab, info.VocabSize)
	assert.True(t, info.TiedEmbeddings)
	hd := sp.Dim / sp.Heads
	perLayer := 2*sp.Dim*sp.Dim + 2*sp.Dim*sp.KVHeads*hd + 3*sp.Dim*sp.FFN + 3*sp.Dim + sp.FFN
	assert.EqualValues(t, sp.Vocab*sp.Dim+sp.Dim+sp.Layers*perLayer, info.Parameters)
}

func TestBadModels(t *testing.T) {
	sp := modelgen.Tiny
	for _, tc := range []struct {
		name string
		spec func(*modelgen.Spec)
		edit func(w *gguf.Writer)
		is   error
		msg  string
	}{
		{"unknown arch", func(s *modelgen.Spec) { s.Arch = "llama" }, nil, ErrUnsupported, `"llama"`},
		{"no arch", nil, func(w *gguf.Writer) { w.Delete("general.architecture") }, ErrInvalidModel, "general.architecture"},
		{"missing width", nil, func(w *gguf.Writer) { w.Delete("bitnet-b1.58.embedding_length") }, ErrInvalidModel, "embedding_length"},
		{"absurd layers", nil, func(w *gguf.Writer) { w.Set("bitnet-b1.58.block_count", uint64(1<<40)) }, ErrInvalidModel, "block_count"},
		{"string layers", nil, func(w *gguf.Writer) { w.Set("bitnet-b1.58.block_count", "two") }, ErrInvalidModel, "block_count"},
		{"heads do not divide", nil, func(w *gguf.Writer) { w.Set("bitnet-b1.58.attention.head_count", uint32(3)) }, ErrInvalidModel, "head_count"},
		{"kv heads do not divide", nil, func(w *gguf.Writer) { w.Set("bitnet-b1.58.attention.head_count_kv", uint32(3)) }, ErrInvalidModel, "head_count_kv"},
		{"zero heads", nil, func(w *gguf.Writer) { w.Set("bitnet-b1.58.attention.head_count", uint32(0)) }, ErrInvalidModel, "head_count"},
		{"missing tensor", nil, func(w *gguf.Writer) { w.DropTensor("blk.1.ffn_up.weight") }, ErrInvalidModel, "blk.1.ffn_up.weight"},
		{"missing embedding", nil, func(w *gguf.Writer) { w.DropTensor("token_embd.weight") }, ErrInvalidModel, "token_embd.weight"},
		{"wrong shape", nil, func(w *gguf.Writer) {
			w.DropTensor("blk.0.attn_k.weight")
			w.AddTensor("blk.0.attn_k.weight", gguf.I2_S, []uint64{256, 256}, make([]byte, 256*256/4+32))
		}, ErrInvalidModel, "blk.0.attn_k.weight"},
		{"vocab disagrees", nil, func(w *gguf.Writer) { w.Set("bitnet-b1.58.vocab_size", uint32(999)) }, ErrInvalidModel, "vocab_size"},
		{"unsupported projection type", nil, func(w *gguf.Writer) {
			w.DropTensor("blk.0.attn_q.weight")
			w.AddTensor("blk.0.attn_q.weight", gguf.Q8_0, []uint64{256, 256}, make([]byte, 256*256/32*34))
		}, ErrUnsupported, "blk.0.attn_q.weight"},
		{"bad activation", func(s *modelgen.Spec) { s.Arch = "bitnet" }, func(w *gguf.Writer) { w.Set("bitnet.hidden_activation", "gelu") }, ErrUnsupported, "hidden_activation"},
		{"nan I2_S scale", nil, func(w *gguf.Writer) {
			data := make([]byte, 256*256/4+32)
			copy(data[256*256/4:], []byte{0, 0, 0xc0, 0x7f})
			w.DropTensor("blk.0.attn_q.weight")
			w.AddTensor("blk.0.attn_q.weight", gguf.I2_S, []uint64{256, 256}, data)
		}, ErrInvalidModel, "blk.0.attn_q.weight"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sp
			if tc.spec != nil {
				tc.spec(&s)
			}
			_, err := Load(writeModel(t, s, tc.edit))
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.is)
			assert.Contains(t, err.Error(), tc.msg)
			assert.Regexp(t, "^bitnet: ", err.Error())
		})
	}
}

// TestTruncatedModel cuts a real model file at many points (every byte of
// the header, then strided through the data): each gives an error that
// wraps ErrInvalidModel, never a panic.
func TestTruncatedModel(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "golden", "tiny-b158-i2s.gguf"))
	require.NoError(t, err)
	f, err := gguf.Parse(data)
	require.NoError(t, err)
	header := int(f.DataOffset)
	step := 1
	if testing.Short() {
		step = 97
	}
	for n := 0; n < len(data)-31; n += step {
		if n > header {
			n += 4093 // strided through the tensor data
		}
		if n >= len(data)-31 {
			break
		}
		cut := data[:n]
		_, err := LoadGGUF(cut)
		require.Error(t, err, "cut at %d", n)
		require.ErrorIs(t, err, ErrInvalidModel, "cut at %d", n)
	}
}

func FuzzLoadGGUF(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "golden", "tiny-b158-tq1.gguf"))
	require.NoError(f, err)
	var buf bytes.Buffer
	_, err = modelgen.Spec{Dim: 128, Layers: 1, Heads: 2, KVHeads: 1, FFN: 128, Vocab: 260, Ctx: 16, Theta: 1e4}.WriteTo(&buf)
	require.NoError(f, err)
	f.Add(buf.Bytes())
	f.Add(data[:4096])
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadGGUF(data, WithThreads(2))
		if err != nil {
			if !errors.Is(err, ErrInvalidModel) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		defer m.Close()
		s, err := m.NewSession()
		require.NoError(t, err)
		require.NoError(t, s.Eval(context.Background(), []int{0, 1}))
	})
}

// TestDecodeAllocatesNothing: once a session runs, a decode token allocates
// nothing (the parallel loops' bodies live in the session).
func TestDecodeAllocatesNothing(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("coverage and race instrumentation allocate")
	}
	m, err := Load(tinyModel(t), WithThreads(2))
	require.NoError(t, err)
	defer m.Close()
	s, err := m.NewSession()
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, s.Eval(ctx, []int{1, 2}))
	i := 0
	allocs := testing.AllocsPerRun(50, func() {
		i++
		if s.Len() > 100 {
			require.NoError(t, s.Truncate(2))
		}
		require.NoError(t, s.Eval(ctx, []int{i % 300}))
	})
	require.Zero(t, allocs)
}
