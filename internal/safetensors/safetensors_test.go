package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hfDirs are the golden Hugging Face checkpoints, relative to this package.
var hfDirs = []string{
	"../../testdata/hf/tiny-hf-bf16",
	"../../testdata/hf/tiny-hf-packed",
	"../../testdata/hf/tiny-hf-packed-mul",
}

// goldenConfig holds the config.json fields the shape checks need.
type goldenConfig struct {
	Hidden   int `json:"hidden_size"`
	FFN      int `json:"intermediate_size"`
	Layers   int `json:"num_hidden_layers"`
	Heads    int `json:"num_attention_heads"`
	KVHeads  int `json:"num_key_value_heads"`
	Vocab    int `json:"vocab_size"`
	QuantCfg struct {
		Mode  string `json:"quantization_mode"`
		Class string `json:"linear_class"`
	} `json:"quantization_config"`
}

func readGoldenConfig(t *testing.T, dir string) goldenConfig {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	require.NoError(t, err)
	var c goldenConfig
	require.NoError(t, json.Unmarshal(data, &c))
	return c
}

// spec is a tensor's expected dtype and shape.
type spec struct {
	dtype DType
	shape []int
}

func TestGoldenCheckpoints(t *testing.T) {
	for _, dir := range hfDirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cfg := readGoldenConfig(t, dir)
			packed := cfg.QuantCfg.Mode == "offline"
			c, err := OpenDir(dir)
			require.NoError(t, err)
			defer func() { require.NoError(t, c.Close()) }()

			want := map[string]spec{
				"model.embed_tokens.weight": {BF16, []int{cfg.Vocab, cfg.Hidden}},
				"model.norm.weight":         {BF16, []int{cfg.Hidden}},
			}
			headDim := cfg.Hidden / cfg.Heads
			linears := map[string][2]int{ // [out, in]
				"self_attn.q_proj": {cfg.Hidden, cfg.Hidden},
				"self_attn.k_proj": {cfg.KVHeads * headDim, cfg.Hidden},
				"self_attn.v_proj": {cfg.KVHeads * headDim, cfg.Hidden},
				"self_attn.o_proj": {cfg.Hidden, cfg.Hidden},
				"mlp.gate_proj":    {cfg.FFN, cfg.Hidden},
				"mlp.up_proj":      {cfg.FFN, cfg.Hidden},
				"mlp.down_proj":    {cfg.Hidden, cfg.FFN},
			}
			for l := range cfg.Layers {
				p := fmt.Sprintf("model.layers.%d.", l)
				want[p+"input_layernorm.weight"] = spec{BF16, []int{cfg.Hidden}}
				want[p+"post_attention_layernorm.weight"] = spec{BF16, []int{cfg.Hidden}}
				want[p+"self_attn.attn_sub_norm.weight"] = spec{BF16, []int{cfg.Hidden}}
				want[p+"mlp.ffn_sub_norm.weight"] = spec{BF16, []int{cfg.FFN}}
				for name, oi := range linears {
					if packed {
						want[p+name+".weight"] = spec{U8, []int{oi[0] / 4, oi[1]}}
						want[p+name+".weight_scale"] = spec{BF16, []int{1}}
					} else {
						want[p+name+".weight"] = spec{BF16, []int{oi[0], oi[1]}}
					}
				}
			}

			infos := c.Tensors()
			require.Len(t, infos, len(want))
			for i, ti := range infos {
				if i > 0 {
					assert.Less(t, infos[i-1].Name, ti.Name, "Tensors not sorted")
				}
				w, ok := want[ti.Name]
				if !assert.True(t, ok, "unexpected tensor %q", ti.Name) {
					continue
				}
				assert.Equal(t, w.dtype, ti.DType, ti.Name)
				assert.Equal(t, w.shape, ti.Shape, ti.Name)
				tn, err := c.Lookup(ti.Name)
				require.NoError(t, err)
				assert.Len(t, tn.Data, ti.NumElements()*ti.DType.Size())
				shard, ok := c.Shard(ti.Name)
				assert.True(t, ok)
				assert.Equal(t, SingleFileName, shard)
			}
			assert.False(t, c.Has("lm_head.weight"))
			_, err = c.Lookup("lm_head.weight")
			assert.ErrorIs(t, err, ErrNotFound)

			if packed {
				// Codes are 0, 1, 2 (−1, 0, +1); 3 never occurs.
				w, err := c.Lookup("model.layers.0.self_attn.q_proj.weight")
				require.NoError(t, err)
				for _, b := range w.Data {
					for i := range 4 {
						require.NotEqual(t, byte(3), b>>(2*i)&3)
					}
				}
			}
		})
	}
}

// TestGoldenWeightScales checks that the two packed checkpoints store the same
// codes with reciprocal scales: bitlinear stores 1/γ, autobitlinear γ.
func TestGoldenWeightScales(t *testing.T) {
	div, err := OpenDir(hfDirs[1])
	require.NoError(t, err)
	defer div.Close()
	mul, err := OpenDir(hfDirs[2])
	require.NoError(t, err)
	defer mul.Close()
	for _, ti := range div.Tensors() {
		a, err := div.Lookup(ti.Name)
		require.NoError(t, err)
		b, err := mul.Lookup(ti.Name)
		require.NoError(t, err)
		if !strings.HasSuffix(ti.Name, ".weight_scale") {
			assert.Equal(t, a.Data, b.Data, ti.Name)
			continue
		}
		sa, err := Float32s(a)
		require.NoError(t, err)
		sb, err := Float32s(b)
		require.NoError(t, err)
		require.Len(t, sa, 1)
		assert.Greater(t, sa[0], float32(1), "bitlinear scale 1/γ of %s", ti.Name)
		assert.Less(t, sb[0], float32(1), "autobitlinear scale γ of %s", ti.Name)
		assert.InDelta(t, 1, sa[0]*sb[0], 0.01, ti.Name)
	}
}

// blob builds a file from a raw header string and data section.
func blob(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestParseMalformed(t *testing.T) {
	good := blob(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8))
	hugeLen := binary.LittleEndian.AppendUint64(nil, math.MaxUint64)
	for _, tc := range []struct {
		name string
		file []byte
		want error  // ErrMalformed or ErrUnsupported
		msg  string // a substring of the message
	}{
		{"empty file", nil, ErrMalformed, "shorter than"},
		{"short file", []byte{1, 2, 3}, ErrMalformed, "shorter than"},
		{"header past file", good[:len(good)-9], ErrMalformed, "past the end"},
		{"header length huge", append(hugeLen, '{', '}'), ErrMalformed, "exceeds"},
		{"header length over cap", binary.LittleEndian.AppendUint64(nil, MaxHeaderSize+1), ErrMalformed, "exceeds"},
		{"header length zero", blob("", nil), ErrMalformed, "too short"},
		{"truncated data", good[:len(good)-1], ErrMalformed, "past the data section"},
		{"bad json", blob(`{"a":`, nil), ErrMalformed, "header"},
		{"not an object", blob(`[1,2]`, nil), ErrMalformed, "not a JSON object"},
		{"trailing garbage", blob(`{} {}`, nil), ErrMalformed, "after the JSON object"},
		{"entry not object", blob(`{"a":[1]}`, nil), ErrMalformed, `tensor "a"`},
		{"entry null", blob(`{"a":null}`, nil), ErrMalformed, `tensor "a": no dtype`},
		{"no shape", blob(`{"a":{"dtype":"U8","data_offsets":[0,0]}}`, nil), ErrMalformed, "no shape"},
		{"no offsets", blob(`{"a":{"dtype":"U8","shape":[0]}}`, nil), ErrMalformed, "no data_offsets"},
		{"three offsets", blob(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, []byte{1}), ErrMalformed, "3 values"},
		{"negative offset", blob(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}`, []byte{1}), ErrMalformed, "negative"},
		{"begin after end", blob(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}`, []byte{1}), ErrMalformed, "begin after end"},
		{"offset past data", blob(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, []byte{1}), ErrMalformed, "past the data section"},
		{"offset float", blob(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1.5]}}`, []byte{1}), ErrMalformed, `tensor "a"`},
		{"offset huge", blob(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,99999999999999999999]}}`, []byte{1}), ErrMalformed, `tensor "a"`},
		{"negative dim", blob(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}`, []byte{1}), ErrMalformed, "out of range"},
		{"size mismatch", blob(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 8)), ErrMalformed, "needs 8 bytes"},
		{"shape overflow", blob(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil), ErrMalformed, "overflows"},
		{"shape overflow to small", blob(`{"a":{"dtype":"U8","shape":[4294967296,4294967296,2],"data_offsets":[0,0]}}`, nil), ErrMalformed, "overflows"},
		{"overlap", blob(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}`, make([]byte, 5)), ErrMalformed, "overlap"},
		{"same range", blob(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrMalformed, "overlap"},
		{"duplicate name", blob(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, make([]byte, 2)), ErrMalformed, `duplicate key "a"`},
		{"empty name", blob(`{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1)), ErrMalformed, "empty name"},
		{"metadata not strings", blob(`{"__metadata__":{"k":1}}`, nil), ErrMalformed, "__metadata__"},
		{"metadata not object", blob(`{"__metadata__":[]}`, nil), ErrMalformed, "__metadata__"},
		{"unknown dtype", blob(`{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), ErrUnsupported, `tensor "w": dtype "Q4"`},
		{"sub-byte dtype", blob(`{"w":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}`, []byte{1}), ErrUnsupported, `dtype "F4"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.file)
			require.Error(t, err)
			assert.Nil(t, f)
			assert.ErrorIs(t, err, tc.want)
			other := ErrUnsupported
			if tc.want == ErrUnsupported {
				other = ErrMalformed
			}
			assert.NotErrorIs(t, err, other)
			assert.Contains(t, err.Error(), tc.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "safetensors: "), err.Error())
		})
	}
}

func TestParseAccepts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		file   []byte
		tensor string
		shape  []int
	}{
		{"empty header", blob(`{}`, nil), "", nil},
		{"padded header", blob(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}      `, []byte{7}), "a", []int{1}},
		{"scalar", blob(`{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`, make([]byte, 4)), "s", []int{}},
		{"zero-size inside another", blob(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"z":{"dtype":"U8","shape":[0,3],"data_offsets":[2,2]}}`, make([]byte, 4)), "z", []int{0, 3}},
		{"zero dim with huge dims", blob(`{"z":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`, nil), "z", []int{4294967296, 4294967296, 0}},
		{"gap and trailing bytes", blob(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}`, make([]byte, 6)), "a", []int{1}},
		{"metadata null", blob(`{"__metadata__":null}`, nil), "", nil},
		{"other standard dtype", blob(`{"i":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}`, make([]byte, 16)), "i", []int{2}},
		{"unknown entry fields", blob(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":true}}`, []byte{1}), "a", []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.file)
			require.NoError(t, err)
			defer f.Close()
			if tc.tensor == "" {
				assert.Empty(t, f.Tensors())
				return
			}
			tn, ok := f.Tensor(tc.tensor)
			require.True(t, ok)
			assert.Equal(t, tc.shape, tn.Shape)
		})
	}
}

func TestOpenNamesPath(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.safetensors")
	require.NoError(t, os.WriteFile(p, blob(`{"a":{"dtype":"U8","shape":[9],"data_offsets":[0,9]}}`, nil), 0o644))
	_, err := Open(p)
	require.ErrorIs(t, err, ErrMalformed)
	assert.Contains(t, err.Error(), p)
	assert.Contains(t, err.Error(), `tensor "a"`)

	_, err = Open(filepath.Join(dir, "missing.safetensors"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestWriteRoundTrip(t *testing.T) {
	tensors := []Tensor{
		{Name: "b.weight", DType: BF16, Shape: []int{2, 3}, Data: bytes.Repeat([]byte{1, 2}, 6)},
		{Name: "a.packed", DType: U8, Shape: []int{3}, Data: []byte{0x92, 0, 0xff}},
		{Name: "scalar", DType: F32, Shape: nil, Data: []byte{0, 0, 0x80, 0x3f}},
		{Name: "empty", DType: F16, Shape: []int{0, 5}, Data: nil},
		{Name: "i8", DType: I8, Shape: []int{1, 1, 1}, Data: []byte{0x80}},
		{Name: "<&>", DType: "I64", Shape: []int{1}, Data: make([]byte, 8)},
	}
	md := map[string]string{"format": "pt", "note": "✓"}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, tensors, md))
	out := buf.Bytes()
	hlen := binary.LittleEndian.Uint64(out)
	assert.Zero(t, hlen%8, "header padded to 8 bytes")

	f, err := Parse(out)
	require.NoError(t, err)
	assert.Equal(t, md, f.Metadata())
	require.Len(t, f.Tensors(), len(tensors))
	for _, want := range tensors {
		got, ok := f.Tensor(want.Name)
		require.True(t, ok, want.Name)
		assert.Equal(t, want.DType, got.DType)
		if len(want.Shape) == 0 {
			assert.Empty(t, got.Shape)
		} else {
			assert.Equal(t, want.Shape, got.Shape)
		}
		assert.Equal(t, len(want.Data), len(got.Data))
		if len(want.Data) > 0 {
			assert.Equal(t, want.Data, got.Data)
		}
	}
	names := []string{}
	for _, ti := range f.Tensors() {
		names = append(names, ti.Name)
	}
	assert.Equal(t, []string{"<&>", "a.packed", "b.weight", "empty", "i8", "scalar"}, names)

	// Without metadata there is no __metadata__ entry.
	buf.Reset()
	require.NoError(t, Write(&buf, tensors[:1], nil))
	assert.NotContains(t, buf.String(), metadataKey)
	f, err = Parse(buf.Bytes())
	require.NoError(t, err)
	assert.Nil(t, f.Metadata())
}

func TestWriteErrors(t *testing.T) {
	ok := Tensor{Name: "a", DType: U8, Shape: []int{1}, Data: []byte{1}}
	for _, tc := range []struct {
		name    string
		tensors []Tensor
		msg     string
	}{
		{"empty name", []Tensor{{DType: U8, Shape: []int{1}, Data: []byte{1}}}, "invalid tensor name"},
		{"metadata name", []Tensor{{Name: metadataKey, DType: U8, Shape: []int{1}, Data: []byte{1}}}, "invalid tensor name"},
		{"duplicate", []Tensor{ok, ok}, "duplicate"},
		{"unknown dtype", []Tensor{{Name: "a", DType: "Q4", Shape: []int{1}, Data: []byte{1}}}, "unknown dtype"},
		{"size mismatch", []Tensor{{Name: "a", DType: F32, Shape: []int{2}, Data: []byte{1}}}, "needs 8 bytes"},
		{"negative dim", []Tensor{{Name: "a", DType: U8, Shape: []int{-1}, Data: nil}}, "shape"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(&bytes.Buffer{}, tc.tensors, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
	// Errors of the writer are returned.
	require.Error(t, Write(failWriter{}, []Tensor{ok}, nil))
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestToFloat32(t *testing.T) {
	vals := []float32{1, -2.5, 0, 0.099975586, float32(math.Inf(-1))}
	f32 := make([]byte, 0, 4*len(vals))
	for _, v := range vals {
		f32 = binary.LittleEndian.AppendUint32(f32, math.Float32bits(v))
	}
	for _, tc := range []struct {
		name string
		t    Tensor
		want []float32
	}{
		{"F32", Tensor{DType: F32, Shape: []int{5}, Data: f32}, vals},
		// bf16: 0x3f80 = 1, 0xc020 = -2.5, 0x3dcc ≈ 0.099609375, 0x7f80 = +Inf
		{"BF16", Tensor{DType: BF16, Shape: []int{2, 2}, Data: []byte{0x80, 0x3f, 0x20, 0xc0, 0xcc, 0x3d, 0x80, 0x7f}},
			[]float32{1, -2.5, 0.099609375, float32(math.Inf(1))}},
		// f16: 0x3c00 = 1, 0xc100 = -2.5, 0x0001 = 2^-24 (subnormal), 0x7bff = 65504
		{"F16", Tensor{DType: F16, Shape: []int{4}, Data: []byte{0x00, 0x3c, 0x00, 0xc1, 0x01, 0x00, 0xff, 0x7b}},
			[]float32{1, -2.5, 0x1p-24, 65504}},
		{"scalar", Tensor{DType: BF16, Data: []byte{0xe6, 0x41}}, []float32{28.75}},
		{"empty", Tensor{DType: F32, Shape: []int{0}}, []float32{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]float32, len(tc.want))
			require.NoError(t, ToFloat32(dst, tc.t))
			assert.Equal(t, tc.want, dst)
			got, err := Float32s(tc.t)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	_, err := Float32s(Tensor{Name: "w", DType: U8, Shape: []int{1}, Data: []byte{1}})
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.Contains(t, err.Error(), `tensor "w"`)
	_, err = Float32s(Tensor{Name: "w", DType: F32, Shape: []int{2}, Data: make([]byte, 4)})
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = Float32s(Tensor{Name: "w", DType: F32, Shape: []int{math.MaxInt, 3}})
	assert.ErrorIs(t, err, ErrMalformed)
	err = ToFloat32(make([]float32, 3), Tensor{Name: "w", DType: F32, Shape: []int{2}, Data: make([]byte, 8)})
	assert.ErrorContains(t, err, "destination holds 3 values, want 2")
}

func TestDType(t *testing.T) {
	for _, tc := range []struct {
		d         DType
		size      int
		supported bool
	}{
		{U8, 1, true}, {I8, 1, true}, {BF16, 2, true}, {F16, 2, true}, {F32, 4, true},
		{"I64", 8, false}, {"BOOL", 1, false}, {"F64", 8, false}, {"Q4", 0, false}, {"", 0, false},
	} {
		assert.Equal(t, tc.size, tc.d.Size(), tc.d)
		assert.Equal(t, tc.supported, tc.d.Supported(), tc.d)
	}
}
