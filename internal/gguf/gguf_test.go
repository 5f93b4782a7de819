package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleFile(t testing.TB) []byte {
	w := NewWriter()
	w.Set("general.architecture", "bitnet-b1.58")
	w.Set("a.u8", uint8(7))
	w.Set("a.i8", int8(-7))
	w.Set("a.u16", uint16(700))
	w.Set("a.i16", int16(-700))
	w.Set("a.u32", uint32(70000))
	w.Set("a.i32", int32(-70000))
	w.Set("a.u64", uint64(1<<40))
	w.Set("a.i64", int64(-1<<40))
	w.Set("a.f32", float32(0.5))
	w.Set("a.f64", 0.25)
	w.Set("a.bool", true)
	w.Set("a.strs", []string{"x", "", "héllo"})
	w.Set("a.ints", []int32{1, -2, 3})
	w.Set("a.floats", []float32{1.5, -2})
	w.AddTensor("t.f32", F32, []uint64{4, 2}, make([]byte, 32))
	w.AddTensor("t.i2s", I2_S, []uint64{128, 2}, make([]byte, 64+32))
	w.AddTensor("t.tq2", TQ2_0, []uint64{256}, make([]byte, 66))
	var buf bytes.Buffer
	_, err := w.WriteTo(&buf)
	require.NoError(t, err)
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	f, err := Parse(sampleFile(t))
	require.NoError(t, err)
	assert.EqualValues(t, 3, f.Version)
	s, ok := f.GetString("general.architecture")
	assert.True(t, ok)
	assert.Equal(t, "bitnet-b1.58", s)
	for key, want := range map[string]int64{"a.u8": 7, "a.i8": -7, "a.u16": 700, "a.i16": -700, "a.u32": 70000, "a.i32": -70000, "a.u64": 1 << 40, "a.i64": -1 << 40} {
		v, ok := f.Lookup(key)
		require.True(t, ok, key)
		i, ok := v.Int()
		assert.True(t, ok, key)
		assert.Equal(t, want, i, key)
		u, ok := v.Uint()
		assert.Equal(t, want >= 0, ok, key)
		if ok {
			assert.EqualValues(t, want, u)
		}
	}
	x, _ := f.GetFloat("a.f32")
	assert.Equal(t, 0.5, x)
	x, _ = f.GetFloat("a.f64")
	assert.Equal(t, 0.25, x)
	b, ok := f.GetBool("a.bool")
	assert.True(t, ok && b)
	strs, ok := f.GetStrings("a.strs")
	assert.True(t, ok)
	assert.Equal(t, []string{"x", "", "héllo"}, strs)
	ints, _ := f.GetInts("a.ints")
	assert.Equal(t, []int64{1, -2, 3}, ints)
	fl, _ := f.GetFloats("a.floats")
	assert.Equal(t, []float64{1.5, -2}, fl)
	_, ok = f.GetString("a.u8")
	assert.False(t, ok, "type mismatch is not ok")

	require.Len(t, f.Tensors, 3)
	ti, ok := f.Tensor("t.i2s")
	require.True(t, ok)
	assert.EqualValues(t, 96, ti.Size)
	assert.Len(t, f.TensorData(ti), 96)
	for _, ti := range f.Tensors {
		assert.Zero(t, (f.DataOffset+ti.Offset)%32, ti.Name)
	}
}

func TestTypeSize(t *testing.T) {
	for _, tc := range []struct {
		typ  TensorType
		n    uint64
		size uint64
		ok   bool
	}{
		{F32, 10, 40, true},
		{F16, 10, 20, true},
		{BF16, 3, 6, true},
		{I2_S, 2560 * 2560, 2560*2560/4 + 32, true},
		{I2_S, 6, 0, false},
		{TQ2_0, 512, 132, true},
		{TQ1_0, 512, 108, true},
		{TQ1_0, 100, 0, false},
		{TensorType(99), 4, 0, false},
	} {
		size, ok := tc.typ.Size(tc.n)
		assert.Equal(t, tc.ok, ok, "%v %d", tc.typ, tc.n)
		assert.Equal(t, tc.size, size, "%v %d", tc.typ, tc.n)
	}
}

func TestTruncatedAtEveryByte(t *testing.T) {
	data := sampleFile(t)
	for n := 0; n < len(data); n++ {
		// The file's last bytes are padding after the last tensor's data:
		// a cut there still leaves every tensor whole.
		_, err := Parse(data[:n])
		if n < len(data)-30 {
			require.Error(t, err, "cut at %d", n)
			require.True(t, errors.Is(err, ErrFormat), "cut at %d: %v", n, err)
		}
	}
}

// header builds a file byte by byte for malformed cases.
type header struct{ bytes.Buffer }

func (h *header) u32(v uint32) *header { binary.Write(h, binary.LittleEndian, v); return h }
func (h *header) u64(v uint64) *header { binary.Write(h, binary.LittleEndian, v); return h }
func (h *header) str(s string) *header { h.u64(uint64(len(s))); h.WriteString(s); return h }
func (h *header) padded() []byte       { return append(h.Bytes(), make([]byte, 96)...) }

func start(nt, nkv uint64) *header {
	h := &header{}
	h.WriteString("GGUF")
	return h.u32(3).u64(nt).u64(nkv)
}

func TestMalformed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		data  []byte
		is    error
		where string
	}{
		{"empty", nil, ErrFormat, "magic"},
		{"wrong magic", []byte("GGML\x03\x00\x00\x00"), ErrFormat, "magic"},
		{"version 1", append([]byte("GGUF"), 1, 0, 0, 0), ErrUnsupported, "version"},
		{"version 9", append([]byte("GGUF"), 9, 0, 0, 0), ErrUnsupported, "version"},
		{"absurd kv count", start(0, 1<<60).Bytes(), ErrFormat, "metadata count"},
		{"absurd tensor count", start(1<<60, 0).Bytes(), ErrFormat, "tensor count"},
		{"absurd string length", start(0, 1).u64(1 << 62).padded(), ErrFormat, "metadata key"},
		{"unknown value type", start(0, 1).str("k").u32(77).Bytes(), ErrFormat, "k"},
		{"absurd array", start(0, 1).str("k").u32(9).u32(4).u64(1 << 61).Bytes(), ErrFormat, "k"},
		{"absurd string array", start(0, 1).str("k").u32(9).u32(8).u64(1 << 40).Bytes(), ErrFormat, "k"},
		{"nested array", start(0, 1).str("k").u32(9).u32(9).u64(1).u32(4).u64(0).Bytes(), ErrFormat, "k"},
		{"duplicate key", start(0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(1).Bytes(), ErrFormat, "duplicate"},
		{"bad alignment", start(0, 1).str("general.alignment").u32(4).u32(3).Bytes(), ErrFormat, "general.alignment"},
		{"zero dims", start(1, 0).str("w").u32(0).padded(), ErrFormat, "tensor w"},
		{"five dims", start(1, 0).str("w").u32(5).padded(), ErrFormat, "tensor w"},
		{"zero dimension", start(1, 0).str("w").u32(1).u64(0).padded(), ErrFormat, "tensor w"},
		{"huge dimension", start(1, 0).str("w").u32(2).u64(1 << 40).u64(1 << 40).padded(), ErrFormat, "tensor w"},
		{"unknown tensor type", start(1, 0).str("w").u32(1).u64(4).u32(200).u64(0).padded(), ErrUnsupported, "tensor w"},
		{"partial block", start(1, 0).str("w").u32(1).u64(100).u32(uint32(TQ2_0)).u64(0).padded(), ErrFormat, "tensor w"},
		{"data out of bounds", start(1, 0).str("w").u32(1).u64(1000).u32(0).u64(0).padded(), ErrFormat, "past the end"},
		{"unaligned offset", start(1, 0).str("w").u32(1).u64(4).u32(0).u64(4).padded(), ErrFormat, "alignment"},
		{"overlap", overlapping(), ErrFormat, "overlaps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.data)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.is)
			assert.Contains(t, err.Error(), tc.where)
		})
	}
}

func overlapping() []byte {
	h := start(2, 0)
	h.str("a").u32(1).u64(16).u32(0).u64(0)
	h.str("b").u32(1).u64(16).u32(0).u64(32)
	h.str("c")
	b := start(2, 0)
	b.str("a").u32(1).u64(16).u32(0).u64(0)
	b.str("b").u32(1).u64(8).u32(0).u64(32)
	// a covers [0,64), b starts at 32.
	out := b.Bytes()
	for len(out)%32 != 0 {
		out = append(out, 0)
	}
	return append(out, make([]byte, 128)...)
}

func FuzzParse(f *testing.F) {
	f.Add(sampleFile(f))
	f.Add([]byte("GGUF"))
	f.Add(start(1, 1).str("k").u32(8).str("v").str("w").u32(1).u64(4).u32(0).u64(0).Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error wraps neither sentinel: %v", err)
			}
			return
		}
		for _, kv := range file.KVs {
			kv.Value.Strings()
			kv.Value.Ints()
			kv.Value.Floats()
			_ = kv.Value.String()
		}
		for i := range file.Tensors {
			_ = file.TensorData(&file.Tensors[i])
		}
	})
}
