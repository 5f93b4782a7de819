package convert

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/org/bitnet/internal/gguf"
	"github.com/org/bitnet/internal/kernels"
	"github.com/org/bitnet/internal/ternary"
	"github.com/stretchr/testify/require"
)

// randomCodes returns rows×cols random codes 0..2.
func randomCodes(rng *rand.Rand, rows, cols int) [][]byte {
	c := make([][]byte, rows)
	for r := range c {
		c[r] = make([]byte, cols)
		for j := range c[r] {
			c[r][j] = byte(rng.IntN(3))
		}
	}
	return c
}

// matrixOf builds a ternary.Matrix from codes through FromFloat.
func matrixOf(t *testing.T, codes [][]byte, scale float32) *ternary.Matrix {
	rows, cols := len(codes), len(codes[0])
	w := make([]float32, rows*cols)
	for r := range codes {
		for j, c := range codes[r] {
			w[r*cols+j] = float32(int(c)-1) * scale
		}
	}
	m, err := ternary.FromFloat(w, rows, cols)
	require.NoError(t, err)
	return m
}

func requireCodes(t *testing.T, want [][]byte, m *ternary.Matrix) {
	t.Helper()
	require.Equal(t, len(want), m.Rows)
	require.Equal(t, len(want[0]), m.K)
	for r := range want {
		for j, c := range want[r] {
			if m.Code(r, j) != int(c) {
				t.Fatalf("code (%d, %d) = %d, want %d", r, j, m.Code(r, j), c)
			}
		}
	}
}

func TestUnpackHF(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, shape := range [][2]int{{8, 128}, {16, 256}, {4, 200}, {12, 37}} {
		rows, cols := shape[0], shape[1]
		t.Run(fmt.Sprint(rows, "x", cols), func(t *testing.T) {
			codes := randomCodes(rng, rows, cols)
			// Pack as transformers' pack_weights does: row i·rows/4 + r goes
			// to packed row r at bits 2i.
			q := rows / 4
			packed := make([]byte, q*cols)
			for r := 0; r < rows; r++ {
				for c := 0; c < cols; c++ {
					packed[(r%q)*cols+c] |= codes[r][c] << (2 * (r / q))
				}
			}
			m, err := UnpackHF(packed, rows, cols)
			require.NoError(t, err)
			requireCodes(t, codes, m)
			for r := 0; r < rows; r++ { // padding holds code 1 (weight 0)
				for j := cols; j < m.KP; j++ {
					require.Equal(t, 1, m.Code(r, j))
				}
			}
		})
	}
	_, err := UnpackHF([]byte{0x03}, 4, 1)
	require.ErrorContains(t, err, "code 3")
	_, err = UnpackHF(make([]byte, 10), 4, 3)
	require.Error(t, err)
	_, err = UnpackHF(make([]byte, 3), 3, 1)
	require.Error(t, err)
}

// TestEncodeRoundTrip encodes random matrices in each type and decodes them
// with the library's readers.
func TestEncodeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, typ := range []gguf.TensorType{gguf.I2_S, gguf.TQ2_0, gguf.TQ1_0} {
		t.Run(typ.String(), func(t *testing.T) {
			codes := randomCodes(rng, 6, 512)
			codes[2] = make([]byte, 512) // a row of −1 …
			for j := range codes[3] {
				codes[3][j] = 2 // … and of +1
			}
			m := matrixOf(t, codes, 0.75)
			data, err := encodeTernary(typ, "w", m)
			require.NoError(t, err)
			require.Equal(t, ternarySize(typ, 6, 512), uint64(len(data)))
			var back *ternary.Matrix
			switch typ {
			case gguf.I2_S:
				back, err = ternary.FromI2S(data, 6, 512)
				require.Equal(t, make([]byte, 28), data[len(data)-28:], "I2_S tail after the scale is zero")
			case gguf.TQ2_0:
				back, err = ternary.FromTQ2(data, 6, 512)
			case gguf.TQ1_0:
				back, err = ternary.FromTQ1(data, 6, 512)
			}
			require.NoError(t, err)
			requireCodes(t, codes, back)
			require.Equal(t, float32(0.75), back.Scale)
			require.Nil(t, back.BlockScales)
		})
	}
}

// TestTQ1Bytes checks the TQ1_0 byte rule on single digits: a byte is
// ceil(v·256/243) for the base-3 number v of its digits, most significant
// first (llama.cpp's quantize_row_tq1_0_ref).
func TestTQ1Bytes(t *testing.T) {
	for v := 0; v < 243; v++ {
		b := tq1Byte(v)
		require.Equal(t, byte((v*256+242)/243), b)
		for n := 0; n < 5; n++ { // decoding as ggml does gives the digits back
			p := byte(1)
			for i := 0; i < n; i++ {
				p *= 3
			}
			d := int(uint16(b*p) * 3 >> 8)
			want := v
			for i := 0; i < 4-n; i++ {
				want /= 3
			}
			require.Equal(t, want%3, d, "v=%d digit %d", v, n)
		}
	}
}

func TestEncodeBlockScales(t *testing.T) {
	codes := randomCodes(rand.New(rand.NewPCG(5, 6)), 2, 512)
	m := matrixOf(t, codes, 1)
	m.BlockScales = []float32{0.5, 1, 1.5, 2}
	data, err := encodeTernary(gguf.TQ2_0, "w", m)
	require.NoError(t, err)
	back, err := ternary.FromTQ2(data, 2, 512)
	require.NoError(t, err)
	require.Equal(t, m.BlockScales, back.BlockScales)
	_, err = encodeTernary(gguf.I2_S, "w", m)
	require.ErrorIs(t, err, ErrUnsupported)
}

func TestCheckTernaryShape(t *testing.T) {
	require.NoError(t, checkTernaryShape(gguf.I2_S, "w", 3, 384))
	require.ErrorIs(t, checkTernaryShape(gguf.TQ1_0, "w", 3, 384), ErrUnsupported)
	require.ErrorIs(t, checkTernaryShape(gguf.I2_S, "w", 3, 100), ErrUnsupported)
}

func TestParseType(t *testing.T) {
	for s, want := range map[string]Type{"i2_s": I2S, "I2_S": I2S, "tq2_0": TQ2, "TQ1_0": TQ1, "tq1": TQ1} {
		got, err := ParseType(s)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := ParseType("q4_0")
	require.ErrorContains(t, err, "q4_0")
}

func TestHFName(t *testing.T) {
	require.Equal(t, "model.embed_tokens.weight", hfName("token_embd.weight"))
	require.Equal(t, "model.norm.weight", hfName("output_norm.weight"))
	require.Equal(t, "lm_head.weight", hfName("output.weight"))
	require.Equal(t, "model.layers.12.self_attn.o_proj.weight", hfName("blk.12.attn_output.weight"))
	require.Equal(t, "model.layers.0.mlp.ffn_sub_norm.weight", hfName("blk.0.ffn_sub_norm.weight"))
	require.Equal(t, "blk.0.other.weight", hfName("blk.0.other.weight"))
}

func TestFitVocab(t *testing.T) {
	v := &vocab{tokens: []string{"a", "", "b"}, types: []int32{1, 5, 3}}
	require.NoError(t, fitVocab(v, 5))
	require.Equal(t, []string{"a", "[PAD1]", "b", "[PAD3]", "[PAD4]"}, v.tokens)
	require.Equal(t, []int32{1, 5, 3, 5, 5}, v.types)
	require.ErrorIs(t, fitVocab(v, 4), ErrInvalid)
}

// TestMakeHF writes small random checkpoints (packed with either
// weight_scale meaning, and master weights), converts them, and reads the
// results back: the ternary weights and scales must survive.
func TestMakeHF(t *testing.T) {
	for _, spec := range []HFSpec{
		{Hidden: 256, Layers: 2, Heads: 4, KVHeads: 2, FFN: 512, Vocab: 600, Context: 128, RopeTheta: 10000, Seed: 1},
		{Hidden: 256, Layers: 1, Heads: 2, KVHeads: 1, FFN: 256, Vocab: 512, Context: 64, RopeTheta: 10000, LinearClass: "bitlinear", Seed: 2},
		{Hidden: 256, Layers: 1, Heads: 2, KVHeads: 2, FFN: 256, Vocab: 512, Context: 64, RopeTheta: 10000, Master: true, Seed: 3},
	} {
		t.Run(fmt.Sprintf("%s-master=%v", spec.LinearClass, spec.Master), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ckpt")
			require.NoError(t, MakeHF(dir, spec))
			src, err := OpenHF(dir)
			require.NoError(t, err)
			defer src.Close()
			require.Equal(t, spec.Hidden, src.Hidden)
			require.Equal(t, spec.Vocab, src.Vocab)
			require.True(t, src.Tied)
			for _, typ := range []Type{I2S, TQ2, TQ1} {
				out := filepath.Join(t.TempDir(), "m.gguf")
				require.NoError(t, Write(src, out, Options{Type: typ}))
				g, err := OpenGGUF(out)
				require.NoError(t, err)
				require.Equal(t, typ.Arch(), g.Arch)
				require.Equal(t, src.Parameters(), g.Parameters())
				for _, ts := range src.Tensors() {
					if ts.Kind != KindTernary {
						continue
					}
					a, err := src.Ternary(ts.Name, ts.Rows, ts.Cols)
					require.NoError(t, err)
					b, err := g.Ternary(ts.Name, ts.Rows, ts.Cols)
					require.NoError(t, err)
					require.True(t, bytes.Equal(a.Data, b.Data), "%s: codes differ", ts.Name)
					require.InDelta(t, a.Scale, b.Scale, 1e-7*float64(a.Scale), "%s: scale", ts.Name)
				}
				v, err := g.b.vocab()
				require.NoError(t, err)
				require.Equal(t, spec.Vocab-256, v.bos)
				require.Equal(t, "<|begin_of_text|>", v.tokens[v.bos])
				require.Equal(t, defaultChatTemplate, v.chatTemplate)
				require.NoError(t, g.Close())
			}
		})
	}
}

func TestBar(t *testing.T) {
	var buf bytes.Buffer
	b := NewBar(&buf, true, "out.gguf")
	now := b.start
	b.now = func() time.Time { return now }
	now = now.Add(time.Second)
	b.Update(50e6, 100e6)
	require.Contains(t, buf.String(), " 50.0%")
	require.Contains(t, buf.String(), "50 MB/s")
	require.True(t, strings.HasPrefix(buf.String(), "\r"))
	n := buf.Len()
	now = now.Add(10 * time.Millisecond)
	b.Update(51e6, 100e6) // too soon: no redraw
	require.Equal(t, n, buf.Len())
	now = now.Add(time.Second)
	b.Update(100e6, 100e6)
	require.True(t, strings.HasSuffix(buf.String(), "out.gguf: 100.0 MB in 2.0 s (50 MB/s)\n"), buf.String())
	b.Update(100e6, 100e6)
	require.Equal(t, 1, strings.Count(buf.String(), "\n"))

	// Not a terminal: only the final line.
	buf.Reset()
	b = NewBar(&buf, false, "x")
	b.Update(1, 2)
	require.Empty(t, buf.String())
	b.Update(2, 2)
	require.True(t, strings.HasPrefix(buf.String(), "x: "))
	require.False(t, IsTerminal(mustTemp(t)))
}

func mustTemp(t *testing.T) *os.File {
	f, err := os.CreateTemp(t.TempDir(), "f")
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func TestErrorFormat(t *testing.T) {
	e := &Error{Kind: ErrInvalid, Msg: "m.gguf: tensor x is missing"}
	require.Equal(t, "bitnet: invalid model: m.gguf: tensor x is missing", e.Error())
	inner := fmt.Errorf("inner")
	e = &Error{Kind: ErrUnsupported, Err: inner}
	require.Equal(t, "bitnet: unsupported: inner", e.Error())
	require.ErrorIs(t, e, inner)
	require.ErrorIs(t, e, ErrUnsupported)
}

// TestSiLU converts a checkpoint whose config asks for SiLU: the "bitnet"
// architecture records it, bitnet-b1.58 (I2_S) cannot.
func TestSiLU(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"config.json", "model.safetensors", "tokenizer.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "hf", "tiny-hf-packed", name))
		require.NoError(t, err)
		if name == "config.json" {
			data = bytes.Replace(data, []byte(`"relu2"`), []byte(`"silu"`), 1)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	src, err := OpenHF(dir)
	require.NoError(t, err)
	defer src.Close()
	require.Equal(t, "silu", src.Activation)
	require.Equal(t, "bitnet", src.Arch)
	err = Write(src, filepath.Join(t.TempDir(), "a.gguf"), Options{Type: I2S})
	require.ErrorIs(t, err, ErrUnsupported)
	out := filepath.Join(t.TempDir(), "b.gguf")
	require.NoError(t, Write(src, out, Options{Type: TQ2}))
	f, err := gguf.Open(out)
	require.NoError(t, err)
	defer f.Close()
	act, _ := f.GetString("bitnet.hidden_activation")
	require.Equal(t, "silu", act)
}

// TestTernarizeBF16 compares the in-place bf16 ternarizer with
// ternary.FromFloat, for master weights and for ternary-valued ones.
func TestTernarizeBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct {
		name string
		gen  func() float32
		k    int
	}{
		{"master", func() float32 { return float32(rng.NormFloat64()) }, 256},
		{"ternary", func() float32 { return float32(rng.IntN(3)-1) * 1.5 }, 256},
		{"zeros", func() float32 { return 0 }, 128},
		{"partial block", func() float32 { return float32(rng.NormFloat64()) }, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			const rows = 5
			data := make([]byte, 2*rows*c.k)
			w := make([]float32, rows*c.k)
			for i := range w {
				h := toBF16(c.gen())
				binary.LittleEndian.PutUint16(data[2*i:], h)
				w[i] = kernels.BF16ToF32(h)
			}
			got, err := ternarizeBF16(data, rows, c.k)
			require.NoError(t, err)
			want, err := ternary.FromFloat(w, rows, c.k)
			require.NoError(t, err)
			require.Equal(t, want.Scale, got.Scale)
			require.Equal(t, want.KP, got.KP)
			require.Equal(t, want.Data, got.Data)
		})
	}
	bad := make([]byte, 2*128)
	binary.LittleEndian.PutUint16(bad[6:], 0x7fc0) // NaN
	_, err := ternarizeBF16(bad, 1, 128)
	require.ErrorIs(t, err, ternary.ErrFormat)
}
