package bitnet

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/org/bitnet/internal/convert"
	"github.com/org/bitnet/internal/gguf"
	"github.com/org/bitnet/internal/safetensors"
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

// ---- bad input ----------------------------------------------------------------

// copyHF copies a checkpoint of testdata/hf into a temporary directory.
func copyHF(t testing.TB, name string) string {
	dir := t.TempDir()
	src := filepath.Join("testdata", "hf", name)
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644))
	}
	return dir
}

// splitSafetensors returns the JSON header and the data section of a file.
func splitSafetensors(t testing.TB, data []byte) (header, rest []byte) {
	n := binary.LittleEndian.Uint64(data)
	require.Less(t, n, uint64(len(data)))
	return data[8 : 8+n], data[8+n:]
}

func joinSafetensors(header, rest []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(out, header...), rest...)
}

// editHeader rewrites the header of dir's model.safetensors.
func editHeader(t testing.TB, dir string, edit func(h map[string]map[string]any)) {
	p := filepath.Join(dir, "model.safetensors")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	header, rest := splitSafetensors(t, data)
	var h map[string]map[string]any
	require.NoError(t, json.Unmarshal(header, &h))
	edit(h)
	header, err = json.Marshal(h)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, joinSafetensors(header, rest), 0o644))
}

// editJSON rewrites a JSON file of dir.
func editJSON(t testing.TB, dir, name string, edit func(m map[string]any)) {
	p := filepath.Join(dir, name)
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	edit(m)
	data, err = json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, data, 0o644))
}

func TestHFBadInput(t *testing.T) {
	const q = "model.layers.0.self_attn.q_proj.weight"
	for _, c := range []struct {
		name   string
		base   string // checkpoint to start from; default tiny-hf-packed
		edit   func(t *testing.T, dir string)
		kind   error  // ErrInvalidModel or ErrUnsupported
		msg    string // part of the message
		noConv bool   // the converter does not read what is broken
	}{
		{name: "header length past the file", kind: ErrInvalidModel, msg: "runs past the end of the file",
			edit: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "model.safetensors")
				data, _ := os.ReadFile(p)
				binary.LittleEndian.PutUint64(data, uint64(len(data)))
				require.NoError(t, os.WriteFile(p, data, 0o644))
			}},
		{name: "truncated file", kind: ErrInvalidModel, msg: "past the data section",
			edit: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "model.safetensors")
				data, _ := os.ReadFile(p)
				require.NoError(t, os.WriteFile(p, data[:len(data)/2], 0o644))
			}},
		{name: "overlapping offsets", kind: ErrInvalidModel, msg: "overlap",
			edit: func(t *testing.T, dir string) {
				editHeader(t, dir, func(h map[string]map[string]any) {
					begin := h[q]["data_offsets"].([]any)[0].(float64)
					h["model.layers.0.self_attn.k_proj.weight"]["data_offsets"] = []float64{begin, begin + 32*256}
				})
			}},
		{name: "offsets out of range", kind: ErrInvalidModel, msg: "past the data section",
			edit: func(t *testing.T, dir string) {
				editHeader(t, dir, func(h map[string]map[string]any) {
					h["model.norm.weight"]["data_offsets"] = []float64{1 << 30, 1<<30 + 512}
				})
			}},
		{name: "unknown dtype", kind: ErrUnsupported, msg: `dtype "Q9"`,
			edit: func(t *testing.T, dir string) {
				editHeader(t, dir, func(h map[string]map[string]any) { h["model.norm.weight"]["dtype"] = "Q9" })
			}},
		{name: "dtype not usable", kind: ErrUnsupported, msg: "dtype I16",
			edit: func(t *testing.T, dir string) {
				editHeader(t, dir, func(h map[string]map[string]any) {
					h[q]["dtype"] = "I16"
					h[q]["shape"] = []int{64, 128}
				})
			}},
		{name: "shape disagrees with config.json", kind: ErrInvalidModel, msg: "model.layers.0.mlp.gate_proj.weight has U8 [128 256]; config.json wants packed U8 [256 256]",
			edit: func(t *testing.T, dir string) {
				editJSON(t, dir, "config.json", func(m map[string]any) { m["intermediate_size"] = 1024 })
			}},
		{name: "tensor shape", kind: ErrInvalidModel, msg: q + " has U8 [128 128]",
			edit: func(t *testing.T, dir string) {
				editHeader(t, dir, func(h map[string]map[string]any) { h[q]["shape"] = []int{128, 128} })
			}},
		{name: "norm shape", base: "tiny-hf-bf16", kind: ErrInvalidModel, msg: "model.layers.1.mlp.ffn_sub_norm.weight has BF16 [2 256]; config.json wants a float vector [512]",
			edit: func(t *testing.T, dir string) {
				editHeader(t, dir, func(h map[string]map[string]any) {
					h["model.layers.1.mlp.ffn_sub_norm.weight"]["shape"] = []int{2, 256}
				})
			}},
		{name: "missing tensor", kind: ErrInvalidModel, msg: "tensor model.layers.2.mlp.up_proj.weight is missing",
			edit: func(t *testing.T, dir string) {
				editHeader(t, dir, func(h map[string]map[string]any) { delete(h, "model.layers.2.mlp.up_proj.weight") })
			}},
		{name: "missing weight_scale", kind: ErrInvalidModel, msg: "tensor model.layers.1.self_attn.o_proj.weight_scale is missing",
			edit: func(t *testing.T, dir string) {
				editHeader(t, dir, func(h map[string]map[string]any) {
					delete(h, "model.layers.1.self_attn.o_proj.weight_scale")
				})
			}},
		{name: "missing embedding", base: "tiny-hf-bf16", kind: ErrInvalidModel, msg: "tensor model.embed_tokens.weight is missing",
			edit: func(t *testing.T, dir string) {
				editHeader(t, dir, func(h map[string]map[string]any) { delete(h, "model.embed_tokens.weight") })
			}},
		{name: "missing shard", kind: ErrInvalidModel, msg: "model-00002-of-00002.safetensors",
			edit: func(t *testing.T, dir string) {
				data, _ := os.ReadFile(filepath.Join(dir, "model.safetensors"))
				header, _ := splitSafetensors(t, data)
				var h map[string]any
				require.NoError(t, json.Unmarshal(header, &h))
				wm := map[string]string{}
				for name := range h {
					if name != "__metadata__" {
						wm[name] = "model.safetensors"
					}
				}
				wm["model.norm.weight"] = "model-00002-of-00002.safetensors"
				idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": wm})
				require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), idx, 0o644))
			}},
		{name: "no weights", kind: ErrInvalidModel, msg: "neither model.safetensors nor",
			edit: func(t *testing.T, dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "model.safetensors"))) }},
		{name: "config without fields", kind: ErrInvalidModel, msg: "hidden_size is missing",
			edit: func(t *testing.T, dir string) {
				editJSON(t, dir, "config.json", func(m map[string]any) {
					delete(m, "hidden_size")
					delete(m, "num_hidden_layers")
				})
			}},
		{name: "no config.json", kind: ErrInvalidModel, msg: "config.json is missing",
			edit: func(t *testing.T, dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "config.json"))) }},
		{name: "config not JSON", kind: ErrInvalidModel, msg: "config.json",
			edit: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte("{"), 0o644))
			}},
		{name: "use_rms_norm", kind: ErrUnsupported, msg: "use_rms_norm",
			edit: func(t *testing.T, dir string) {
				editJSON(t, dir, "config.json", func(m map[string]any) {
					m["quantization_config"].(map[string]any)["use_rms_norm"] = true
				})
			}},
		{name: "hidden_act", kind: ErrUnsupported, msg: `hidden_act "gelu"`,
			edit: func(t *testing.T, dir string) {
				editJSON(t, dir, "config.json", func(m map[string]any) { m["hidden_act"] = "gelu" })
			}},
		{name: "code 3 in packed weights", kind: ErrInvalidModel, msg: "code 3",
			edit: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "model.safetensors")
				data, _ := os.ReadFile(p)
				header, rest := splitSafetensors(t, data)
				var h map[string]map[string]any
				require.NoError(t, json.Unmarshal(header, &h))
				rest[int(h["model.layers.2.mlp.down_proj.weight"]["data_offsets"].([]any)[0].(float64))+100] = 0xff
				require.NoError(t, os.WriteFile(p, joinSafetensors(header, rest), 0o644))
			}},
		{name: "zero weight_scale", kind: ErrInvalidModel, msg: "want a positive number",
			edit: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "model.safetensors")
				data, _ := os.ReadFile(p)
				header, rest := splitSafetensors(t, data)
				var h map[string]map[string]any
				require.NoError(t, json.Unmarshal(header, &h))
				off := int(h["model.layers.0.self_attn.v_proj.weight_scale"]["data_offsets"].([]any)[0].(float64))
				rest[off], rest[off+1] = 0, 0
				require.NoError(t, os.WriteFile(p, joinSafetensors(header, rest), 0o644))
			}},
		{name: "no tokenizer.json", kind: ErrInvalidModel, msg: "tokenizer.json is missing",
			edit: func(t *testing.T, dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "tokenizer.json"))) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := c.base
			if base == "" {
				base = "tiny-hf-packed"
			}
			dir := copyHF(t, base)
			c.edit(t, dir)

			_, err := Load(dir)
			require.Error(t, err)
			require.ErrorIs(t, err, c.kind)
			require.ErrorContains(t, err, c.msg)
			require.True(t, strings.HasPrefix(err.Error(), "bitnet: "), err.Error())
			t.Log(err)

			out := filepath.Join(t.TempDir(), "out.gguf")
			err = convert.Convert(dir, out, convert.Options{Type: convert.TQ1})
			require.Error(t, err)
			convKind := convert.ErrInvalid
			if c.kind == ErrUnsupported {
				convKind = convert.ErrUnsupported
			}
			require.ErrorIs(t, err, convKind)
			require.ErrorContains(t, err, c.msg)
			require.NoFileExists(t, out)
			entries, _ := os.ReadDir(filepath.Dir(out))
			require.Empty(t, entries, "no temporary file is left behind")
		})
	}
}

// FuzzHFHeader loads a checkpoint whose safetensors header is the fuzzed
// bytes (the data section of tiny-hf-packed follows it): whatever the
// header says, Load and the converter return a model or an error wrapping
// ErrInvalidModel or ErrUnsupported, and never panic.
func FuzzHFHeader(f *testing.F) {
	dir := copyHF(f, "tiny-hf-packed")
	p := filepath.Join(dir, "model.safetensors")
	data, err := os.ReadFile(p)
	require.NoError(f, err)
	header, rest := splitSafetensors(f, data)
	f.Add(header)
	f.Add([]byte(`{"model.norm.weight":{"dtype":"BF16","shape":[256],"data_offsets":[0,512]}}`))
	f.Add([]byte(`{"model.layers.0.self_attn.q_proj.weight":{"dtype":"U8","shape":[64,256],"data_offsets":[0,16384]},` +
		`"model.layers.0.self_attn.q_proj.weight_scale":{"dtype":"F32","shape":[],"data_offsets":[16384,16388]}}`))
	f.Add([]byte(`{"__metadata__":{"format":"pt"},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{}}`))
	out := filepath.Join(f.TempDir(), "out.gguf")
	f.Fuzz(func(t *testing.T, header []byte) {
		require.NoError(t, os.WriteFile(p, joinSafetensors(header, rest), 0o644))
		m, err := Load(dir, WithThreads(1))
		if err == nil {
			s, err := m.NewSession()
			require.NoError(t, err)
			require.NoError(t, s.Eval(context.Background(), []int{509, 1, 2}))
			m.Close()
		} else if !errors.Is(err, ErrInvalidModel) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("error wraps neither ErrInvalidModel nor ErrUnsupported: %v", err)
		}
		err = convert.Convert(dir, out, convert.Options{Type: convert.TQ2})
		if err != nil && !errors.Is(err, convert.ErrInvalid) && !errors.Is(err, convert.ErrUnsupported) {
			t.Fatalf("converter error wraps neither ErrInvalid nor ErrUnsupported: %v", err)
		}
	})
}

// TestHF2B4T is a manual check on a full-size checkpoint: set BITNET_HF2B4T
// to a 2B4T-shaped directory (go run ./examples/convert -make-hf DIR) and
// BITNET_HF2B4T_GGUF to its conversion. The logits of the two must agree.
func TestHF2B4T(t *testing.T) {
	dir, conv := os.Getenv("BITNET_HF2B4T"), os.Getenv("BITNET_HF2B4T_GGUF")
	if dir == "" || conv == "" {
		t.Skip("BITNET_HF2B4T and BITNET_HF2B4T_GGUF are not set")
	}
	logits := func(path string) [][]float32 {
		start := time.Now()
		m, err := Load(path, WithContextSize(64))
		require.NoError(t, err)
		defer m.Close()
		t.Logf("%s: loaded in %v: %+v", path, time.Since(start), m.Info())
		s, err := m.NewSession()
		require.NoError(t, err)
		out, err := s.eval(context.Background(), []int{128000, 9906, 11, 1917, 0, 128009}, true)
		require.NoError(t, err)
		return out
	}
	a, b := logits(dir), logits(conv)
	var maxRef, maxDiff float64
	for i := range a {
		for j := range a[i] {
			maxRef = math.Max(maxRef, math.Abs(float64(a[i][j])))
			maxDiff = math.Max(maxDiff, math.Abs(float64(a[i][j]-b[i][j])))
		}
	}
	t.Logf("max|logit| %.4g, max|Δ| %.4g", maxRef, maxDiff)
	require.LessOrEqual(t, maxDiff, 0.01*maxRef)
}

// TestHFLayouts loads variants of tiny-hf-packed that hold the same
// weights: two shards with an index, data at an odd file offset (so the
// bf16 embedding cannot be used in place), and an untied lm_head.weight
// equal to the embedding. Each must give the golden logits, loaded and
// converted.
func TestHFLayouts(t *testing.T) {
	g := loadGolden(t, filepath.Join("testdata", "golden", "tiny-hf-packed.json"))
	for _, c := range []struct {
		name string
		edit func(t *testing.T, dir string)
	}{
		{"sharded", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			f, err := safetensors.Open(p)
			require.NoError(t, err)
			var shards [2][]safetensors.Tensor
			wm := map[string]string{}
			for _, ti := range f.Tensors() {
				tn, _ := f.Tensor(ti.Name)
				i := 0
				if strings.HasPrefix(ti.Name, "model.layers.1") || strings.HasPrefix(ti.Name, "model.layers.2") {
					i = 1
				}
				shards[i] = append(shards[i], tn)
				wm[ti.Name] = fmt.Sprintf("model-%05d-of-00002.safetensors", i+1)
			}
			for i, ts := range shards {
				var buf bytes.Buffer
				require.NoError(t, safetensors.Write(&buf, ts, nil))
				require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("model-%05d-of-00002.safetensors", i+1)), buf.Bytes(), 0o644))
			}
			require.NoError(t, f.Close())
			require.NoError(t, os.Remove(p))
			idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 0}, "weight_map": wm})
			require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), idx, 0o644))
		}},
		{"unaligned", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			data, _ := os.ReadFile(p)
			header, rest := splitSafetensors(t, data)
			header = append(bytes.TrimRight(header, " "), ' ')
			if len(header)%2 == 0 {
				header = append(header, ' ')
			}
			require.NoError(t, os.WriteFile(p, joinSafetensors(header, rest), 0o644))
		}},
		{"untied", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			data, _ := os.ReadFile(p)
			header, rest := splitSafetensors(t, data)
			var h map[string]map[string]any
			require.NoError(t, json.Unmarshal(header, &h))
			off := h["model.embed_tokens.weight"]["data_offsets"].([]any)
			begin, end := int(off[0].(float64)), int(off[1].(float64))
			h["lm_head.weight"] = map[string]any{"dtype": "BF16", "shape": []int{512, 256},
				"data_offsets": []int{len(rest), len(rest) + end - begin}}
			rest = append(rest, rest[begin:end]...)
			header, _ = json.Marshal(h)
			require.NoError(t, os.WriteFile(p, joinSafetensors(header, rest), 0o644))
			editJSON(t, dir, "config.json", func(m map[string]any) { m["tie_word_embeddings"] = false })
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := copyHF(t, "tiny-hf-packed")
			c.edit(t, dir)
			m := checkGoldenModel(t, g, dir, WithThreads(2))
			require.Equal(t, c.name != "untied", m.Info().TiedEmbeddings)
			out := filepath.Join(t.TempDir(), "m.gguf")
			require.NoError(t, convert.Convert(dir, out, convert.Options{Type: convert.I2S}))
			m = checkGoldenModel(t, g, out)
			require.Equal(t, c.name != "untied", m.Info().TiedEmbeddings)
			if c.name == "untied" {
				f, err := gguf.Open(out)
				require.NoError(t, err)
				ti, ok := f.Tensor("output.weight")
				require.True(t, ok)
				require.Equal(t, gguf.F16, ti.Type)
				f.Close()
			}
		})
	}
}
