package ternary

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/org/bitnet/internal/gguf"
	"github.com/org/bitnet/internal/kernels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestI2SWorkedExample is FORMATS.md §3b: codes +1, 0, −1, +1 for elements
// 0, 32, 64, 96 give byte 0x92.
func TestI2SWorkedExample(t *testing.T) {
	data := make([]byte, 128/4+32)
	for i := range 32 {
		data[i] = 0x55
	}
	data[0] = 0x92
	binary.LittleEndian.PutUint32(data[32:], math.Float32bits(1.5))
	m, err := FromI2S(data, 1, 128)
	require.NoError(t, err)
	assert.True(t, m.InPlace)
	assert.Equal(t, []float32{1.5, 0, -1.5, 1.5}, []float32{m.Weight(0, 0), m.Weight(0, 32), m.Weight(0, 64), m.Weight(0, 96)})
	assert.Equal(t, float32(0), m.Weight(0, 1))
}

func TestI2SCode3IsZero(t *testing.T) {
	data := make([]byte, 128/4+32)
	data[5] = 0xFF // four code-3 fields
	m, err := FromI2S(data, 1, 128)
	require.NoError(t, err)
	assert.False(t, m.InPlace, "code 3 forces a repack")
	for _, j := range []int{5, 37, 69, 101} {
		assert.Equal(t, 1, m.Code(0, j))
	}
	assert.Equal(t, 0, m.Code(0, 0))
}

// TestI2SUnalignedRows: a row length that is not a multiple of 128 makes
// blocks straddle rows in the file; the Matrix pads each row instead.
func TestI2SUnalignedRows(t *testing.T) {
	rows, k := 6, 64
	n := rows * k
	codes := make([]byte, n)
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, n/4+32)
	for e := range codes {
		codes[e] = byte(rng.IntN(3))
		data[e/128*32+e%32] |= codes[e] << (6 - 2*(e%128/32))
	}
	m, err := FromI2S(data, rows, k)
	require.NoError(t, err)
	assert.Equal(t, 128, m.KP)
	_, err = FromI2S(make([]byte, 3*64/4+32), 3, 64)
	require.ErrorIs(t, err, ErrFormat, "a partial last block")
	for e, c := range codes {
		assert.Equal(t, int(c), m.Code(e/k, e%k))
	}
	for r := 0; r < rows; r++ {
		for j := k; j < m.KP; j++ {
			assert.Equal(t, 1, m.Code(r, j), "padding is weight 0")
		}
	}
}

func TestFromFloat(t *testing.T) {
	// Ternary values times a scale keep that scale.
	m, err := FromFloat([]float32{0.5, -0.5, 0, 0.5}, 1, 4)
	require.NoError(t, err)
	assert.Equal(t, float32(0.5), m.Scale)
	assert.Equal(t, []int{2, 0, 1, 2}, []int{m.Code(0, 0), m.Code(0, 1), m.Code(0, 2), m.Code(0, 3)})
	// Master weights: γ = mean|W| = 1, round half to even.
	m, err = FromFloat([]float32{0.5, -1.5, 2, -0.5, 1.0, -0.5}, 2, 3)
	require.NoError(t, err)
	assert.InDelta(t, 1.0, m.Scale, 1e-6)
	assert.Equal(t, []int{1, 0, 2}, []int{m.Code(0, 0), m.Code(0, 1), m.Code(0, 2)})
	assert.Equal(t, []int{1, 2, 1}, []int{m.Code(1, 0), m.Code(1, 1), m.Code(1, 2)})
	// All zero: γ clamps to 1e-5 or the scale is 0, the weights 0 either way.
	m, err = FromFloat(make([]float32, 4), 1, 4)
	require.NoError(t, err)
	assert.Equal(t, 1, m.Code(0, 2))
	_, err = FromFloat([]float32{float32(math.NaN())}, 1, 1)
	require.ErrorIs(t, err, ErrFormat)
}

// TestGoldenFormatsAgree decodes the same weights from the golden I2_S,
// TQ2_0, TQ1_0 and F32 files: every code and scale agrees.
func TestGoldenFormatsAgree(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "golden")
	open := func(name string) *gguf.File {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		f, err := gguf.Parse(data)
		require.NoError(t, err)
		return f
	}
	files := map[string]*gguf.File{
		"i2s": open("tiny-b158-i2s.gguf"), "tq2": open("tiny-b158-tq2.gguf"),
		"tq1": open("tiny-b158-tq1.gguf"), "f32": open("tiny-b158-f32.gguf"),
	}
	for _, name := range []string{"blk.0.attn_q.weight", "blk.1.ffn_down.weight", "blk.2.attn_k.weight"} {
		var mats []*Matrix
		for _, kind := range []string{"i2s", "tq2", "tq1", "f32"} {
			f := files[kind]
			ti, ok := f.Tensor(name)
			require.True(t, ok)
			k, rows := int(ti.Dims[0]), int(ti.Dims[1])
			data := f.TensorData(ti)
			var m *Matrix
			var err error
			switch kind {
			case "i2s":
				m, err = FromI2S(data, rows, k)
			case "tq2":
				m, err = FromTQ2(data, rows, k)
			case "tq1":
				m, err = FromTQ1(data, rows, k)
			case "f32":
				vals := make([]float32, rows*k)
				for i := range vals {
					vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
				}
				m, err = FromFloat(vals, rows, k)
			}
			require.NoError(t, err, kind)
			require.Nil(t, m.BlockScales, kind)
			mats = append(mats, m)
		}
		for _, m := range mats[1:] {
			require.Equal(t, mats[0].Data, m.Data, name)
			require.InDelta(t, mats[0].Scale, m.Scale, 1e-3*float64(mats[0].Scale), name)
		}
	}
}

func TestTQBlockScales(t *testing.T) {
	// Two TQ2_0 blocks in one row with different scales keep both.
	data := make([]byte, 2*66)
	for i := range 64 {
		data[i], data[66+i] = 0xAA, 0xAA // code 2 everywhere: +1
	}
	binary.LittleEndian.PutUint16(data[64:], 0x3C00)    // 1.0
	binary.LittleEndian.PutUint16(data[66+64:], 0x4000) // 2.0
	m, err := FromTQ2(data, 1, 512)
	require.NoError(t, err)
	require.Equal(t, []float32{1, 2}, m.BlockScales)
	assert.Equal(t, float32(1), m.Weight(0, 3))
	assert.Equal(t, float32(2), m.Weight(0, 300))
	_, err = FromTQ2(data[:100], 1, 512)
	require.ErrorIs(t, err, ErrFormat)
	_, err = FromTQ1(data, 1, 100)
	require.ErrorIs(t, err, ErrFormat)
}

// refTQ decodes TQ1_0/TQ2_0 weight by weight, straight from FORMATS.md §3d,
// as the slow reference for the block decoders.
func refTQ(t *testing.T, data []byte, rows, k int, tq1 bool) (codes []byte, scales []float32) {
	bb := 66
	if tq1 {
		bb = 54
	}
	codes = make([]byte, rows*k)
	for b := 0; b < rows*k/256; b++ {
		blk := data[b*bb : (b+1)*bb]
		c := codes[b*256 : (b+1)*256]
		if tq1 {
			digit := func(v byte, n int) byte { return byte(uint16(v*[5]byte{1, 3, 9, 27, 81}[n]) * 3 >> 8) }
			for m := 0; m < 32; m++ {
				for n := 0; n < 5; n++ {
					c[n*32+m] = digit(blk[m], n)
				}
			}
			for m := 0; m < 16; m++ {
				for n := 0; n < 5; n++ {
					c[160+n*16+m] = digit(blk[32+m], n)
				}
			}
			for j := 0; j < 4; j++ {
				for n := 0; n < 4; n++ {
					c[240+n*4+j] = digit(blk[48+j], n)
				}
			}
		} else {
			for j := 0; j < 64; j++ {
				for l := 0; l < 4; l++ {
					c[128*(j/32)+32*l+j%32] = blk[j] >> (2 * l) & 3
				}
			}
		}
		for i, v := range c {
			if v == 3 {
				c[i] = 1
			}
		}
		scales = append(scales, kernels.F16ToF32(binary.LittleEndian.Uint16(blk[bb-2:])))
	}
	return codes, scales
}

func TestTQBlockDecodersMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tq1 := range []bool{false, true} {
		for _, shape := range [][2]int{{1, 256}, {3, 512}, {2, 768}} {
			rows, k := shape[0], shape[1]
			bb := 66
			if tq1 {
				bb = 54
			}
			data := make([]byte, rows*k/256*bb)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			for b := 0; b < rows*k/256; b++ {
				binary.LittleEndian.PutUint16(data[(b+1)*bb-2:], 0x3800+uint16(b)) // distinct finite scales
			}
			var m *Matrix
			var err error
			if tq1 {
				m, err = FromTQ1(data, rows, k)
			} else {
				m, err = FromTQ2(data, rows, k)
			}
			require.NoError(t, err)
			codes, scales := refTQ(t, data, rows, k, tq1)
			for e, c := range codes {
				require.Equal(t, int(c), m.Code(e/k, e%k), "tq1=%v %v weight %d", tq1, shape, e)
			}
			if len(scales) > 1 {
				require.Equal(t, scales, m.BlockScales)
			}
		}
	}
}
