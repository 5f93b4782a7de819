package bitnet

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/org/bitnet/internal/convert"
	"github.com/org/bitnet/internal/gguf"
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

// ---- conversion ---------------------------------------------------------------

// officialKeys lists the metadata keys of the official 2B4T GGUF in order
// (FORMATS.md §3c), "A." standing for the architecture prefix.
var officialKeys = []string{
	"general.architecture", "general.name", "A.vocab_size", "A.context_length",
	"A.embedding_length", "A.block_count", "A.feed_forward_length", "A.rope.dimension_count",
	"A.attention.head_count", "A.attention.head_count_kv", "tokenizer.ggml.add_bos_token",
	"A.attention.layer_norm_rms_epsilon", "A.rope.freq_base", "general.file_type",
	"tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
	"tokenizer.ggml.token_type", "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id",
	"tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.chat_template",
	"general.quantization_version",
}

// checkConvertedFile checks a converted file's keys, key order and tensor
// types against the official layout for typ.
func checkConvertedFile(t *testing.T, path string, typ convert.Type) {
	t.Helper()
	f, err := gguf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	arch := typ.Arch()
	var want []string
	for _, k := range officialKeys {
		want = append(want, strings.Replace(k, "A.", arch+".", 1))
	}
	if arch == "bitnet" {
		want = append(want, "tokenizer.ggml.pre", "bitnet.hidden_activation")
	}
	var got []string
	for _, kv := range f.KVs {
		got = append(got, kv.Key)
	}
	require.Equal(t, want, got)
	ft, _ := f.GetUint("general.file_type")
	require.Equal(t, map[convert.Type]uint64{convert.I2S: 40, convert.TQ2: 37, convert.TQ1: 36}[typ], ft)
	qv, _ := f.GetUint("general.quantization_version")
	require.EqualValues(t, 2, qv)
	if arch == "bitnet" {
		act, _ := f.GetString("bitnet.hidden_activation")
		require.Equal(t, "relu2", act)
	}
	wantType := map[convert.Type]gguf.TensorType{convert.I2S: gguf.I2_S, convert.TQ2: gguf.TQ2_0, convert.TQ1: gguf.TQ1_0}[typ]
	for _, ti := range f.Tensors {
		switch {
		case ti.Name == "token_embd.weight":
			require.Equal(t, gguf.F16, ti.Type, ti.Name)
		case strings.HasSuffix(ti.Name, "norm.weight"), strings.HasSuffix(ti.Name, ".scale"):
			require.Equal(t, gguf.F32, ti.Type, ti.Name)
		default:
			require.Equal(t, wantType, ti.Type, ti.Name)
		}
	}
}

func TestConvertGoldenHF(t *testing.T) {
	for _, g := range hfGolden(t) {
		for _, typ := range []convert.Type{convert.I2S, convert.TQ2, convert.TQ1} {
			t.Run(filepath.Base(g.path)+"/"+typ.String(), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "model.gguf")
				var calls int
				var last [2]int64
				opts := convert.Options{Type: typ, Progress: func(w, total int64) { calls++; last = [2]int64{w, total} }}
				require.NoError(t, convert.Convert(g.path, out, opts))
				st, err := os.Stat(out)
				require.NoError(t, err)
				require.Positive(t, calls)
				require.Equal(t, [2]int64{st.Size(), st.Size()}, last, "the last progress call reports the file size")
				checkConvertedFile(t, out, typ)

				m := checkGoldenModel(t, g, out, WithThreads(2))
				require.Equal(t, typ.Arch(), m.Info().Architecture)
				require.Equal(t, "relu2", m.Info().Activation)
				require.Equal(t, typ.String(), m.Info().WeightType)
				require.Equal(t, 509, m.Tokenizer().BOS())
				require.True(t, m.Tokenizer().IsEndOfGeneration(510))
			})
		}
	}
}

// tensorBytes returns each tensor's info and data.
func tensorBytes(t *testing.T, path string) (infos []gguf.TensorInfo, data map[string][]byte) {
	t.Helper()
	f, err := gguf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	data = map[string][]byte{}
	for i := range f.Tensors {
		ti := f.Tensors[i]
		data[ti.Name] = append([]byte(nil), f.TensorData(&ti)...)
		ti.Offset = 0
		infos = append(infos, ti)
	}
	return infos, data
}

// TestConvertGGUFByteIdentical converts between the golden GGUF files,
// which hold the same weights: the tensor data must come out byte for byte
// as the files that bitnet.cpp's and llama.cpp's quantizers made.
func TestConvertGGUFByteIdentical(t *testing.T) {
	golden := func(name string) string { return filepath.Join("testdata", "golden", "tiny-b158-"+name+".gguf") }
	for _, c := range []struct {
		from, to string
		typ      convert.Type
	}{
		{"tq2", "i2s", convert.I2S},
		{"tq1", "i2s", convert.I2S},
		{"i2s", "tq1", convert.TQ1},
		{"i2s", "tq2", convert.TQ2},
		{"f32", "i2s", convert.I2S},
	} {
		t.Run(c.from+"-to-"+c.to, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.gguf")
			require.NoError(t, convert.Convert(golden(c.from), out, convert.Options{Type: c.typ}))
			checkConvertedFile(t, out, c.typ)
			wantInfo, want := tensorBytes(t, golden(c.to))
			gotInfo, got := tensorBytes(t, out)
			require.Equal(t, wantInfo, gotInfo)
			for _, ti := range wantInfo {
				require.True(t, bytes.Equal(want[ti.Name], got[ti.Name]), "tensor %s differs", ti.Name)
			}
		})
	}
}

func TestConvertRefusesOwnInput(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.gguf")
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", "tiny-b158-i2s.gguf"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, raw, 0o644))
	err = convert.Convert(p, p, convert.Options{})
	require.ErrorContains(t, err, "is the input")
	after, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, raw, after)
}
