package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/x448/float16"
)

// randomF16 returns n finite f16 values of mixed magnitude and sign,
// including subnormals and zeros.
func randomF16(t testing.TB, rng *rand.Rand, n int) []uint16 {
	w := guarded[uint16](t, n)
	for i := range w {
		switch rng.IntN(20) {
		case 0:
			w[i] = uint16(rng.UintN(0x400)) | uint16(rng.UintN(2))<<15 // subnormal or zero
		default:
			w[i] = float16.Fromfloat32(float32(rng.NormFloat64() * 0.05)).Bits()
		}
	}
	return w
}

func randomF32(t testing.TB, rng *rand.Rand, n int) []float32 {
	x := guarded[float32](t, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func checkF16(t *testing.T, w []uint16, x []float32, rows int) {
	t.Helper()
	want := make([]float32, rows)
	matVecF16Generic(want, w, x)
	got := make([]float32, rows+16)
	for i := range got {
		got[i] = -7
	}
	MatVecF16(got[:rows], w, x)
	for i, v := range got[rows:] {
		require.Equal(t, float32(-7), v, "wrote past the end of dst at %d", i)
	}
	for r := range rows {
		require.Equal(t, math.Float32bits(want[r]), math.Float32bits(got[r]), "row %d of %d, k=%d: %v vs %v", r, rows, len(x), want[r], got[r])
	}
}

func TestMatVecF16(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(6, 6))
		for rows := 1; rows <= 37; rows++ {
			for _, k := range []int{1, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 47, 48, 56, 63, 64, 65, 72, 88, 95, 100, 127, 256, 300} {
				checkF16(t, randomF16(t, rng, rows*k), randomF32(t, rng, k), rows)
			}
		}
		checkF16(t, randomF16(t, rng, 64*2560), randomF32(t, rng, 2560), 64)
	})
}

// TestDotF16Reference checks the reference against a float64 sum.
func TestDotF16Reference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, k := range []int{1, 8, 13, 2560} {
		w := randomF16(t, rng, k)
		x := randomF32(t, rng, k)
		var want, mag float64
		for j := range k {
			p := float64(float16.Frombits(w[j]).Float32()) * float64(x[j])
			want += p
			mag += math.Abs(p)
		}
		got := dotF16Generic(w, x)
		assert.InDelta(t, want, float64(got), 1e-6*mag+1e-30, "k=%d", k)
	}
	assert.Equal(t, float32(1), F16ToF32(0x3c00))
	assert.Equal(t, float32(-2), F16ToF32(0xc000))
	assert.Equal(t, float32(1), BF16ToF32(0x3f80))
}

func TestMatVecF16Special(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		inf := float16.Inf(1).Bits()
		w := make([]uint16, 3*16)
		x := make([]float32, 16)
		for i := range x {
			x[i] = 1
		}
		w[5] = inf    // row 0: +Inf
		w[16+2] = inf // row 1: +Inf·0 = NaN
		x[2] = 0
		w[32] = 0x8000 // row 2: −0 products only
		dst := make([]float32, 3)
		MatVecF16(dst, w, x)
		assert.True(t, math.IsInf(float64(dst[0]), 1))
		assert.True(t, math.IsNaN(float64(dst[1])))
		assert.Equal(t, uint32(0), math.Float32bits(dst[2]))

		dst = []float32{3, 3}
		MatVecF16(dst, nil, nil)
		assert.Equal(t, []float32{0, 0}, dst)
		assert.Panics(t, func() { MatVecF16(make([]float32, 2), make([]uint16, 15), make([]float32, 8)) })
	})
}

// TestF16ToF32Row converts every f16 bit pattern, at lengths that leave
// tails, against the table (NaNs only need to stay NaNs).
func TestF16ToF32Row(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		src := make([]uint16, 1<<16)
		for i := range src {
			src[i] = uint16(i)
		}
		for _, n := range []int{0, 1, 31, 32, 33, 100, 1 << 16} {
			dst := make([]float32, n+1)
			dst[n] = -7
			F16ToF32Row(dst[:n], src[len(src)-n:])
			require.Equal(t, float32(-7), dst[n], "wrote past the end")
			for j := range n {
				want := F16ToF32(src[len(src)-n+j])
				if want != want {
					require.True(t, dst[j] != dst[j], "f16 %#04x: %v, want NaN", src[len(src)-n+j], dst[j])
					continue
				}
				require.Equal(t, math.Float32bits(want), math.Float32bits(dst[j]), "f16 %#04x", src[len(src)-n+j])
			}
		}
	})
}
