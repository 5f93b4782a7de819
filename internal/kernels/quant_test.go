package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func checkQuantize(t *testing.T, x []float32) {
	t.Helper()
	want := make([]int8, len(x)+8)
	got := make([]int8, len(x)+8)
	for i := range got {
		got[i], want[i] = 0x5b, 0x5b
	}
	ws, wsum := quantizeI8Generic(want[:len(x)], x)
	gs, gsum := QuantizeI8(got, x)
	require.Equal(t, math.Float32bits(ws), math.Float32bits(gs), "scale, n=%d", len(x))
	require.Equal(t, wsum, gsum, "sum, n=%d", len(x))
	require.Equal(t, want, got, "q, n=%d", len(x))
}

func TestQuantizeI8(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 5))
		for n := 0; n <= 300; n++ {
			x := guarded[float32](t, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			checkQuantize(t, x)
		}
		for _, n := range []int{2560, 6912, 128256} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 3)
			}
			checkQuantize(t, x)
		}
	})
}

func TestQuantizeI8Edges(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	cases := map[string]func(i int) float32{
		"zeros":     func(int) float32 { return 0 },
		"negzero":   func(int) float32 { return float32(math.Copysign(0, -1)) },
		"tiny":      func(i int) float32 { return float32(i%7-3) * 1e-7 },
		"subnormal": func(i int) float32 { return math.Float32frombits(uint32(i)) },
		"huge":      func(i int) float32 { return float32(i%5-2) * 1e38 },
		"max":       func(i int) float32 { return math.MaxFloat32 * float32(i%3-1) },
		"ties": func(i int) float32 { // with max 127 the scale is 1: x.5 rounds to even
			if i == 0 {
				return 127
			}
			return float32(i%40-20) + 0.5
		},
		"nan": func(i int) float32 {
			if i%9 == 4 {
				return nan
			}
			return float32(i)
		},
		"inf": func(i int) float32 {
			if i%11 == 3 {
				return -inf
			}
			return float32(i)
		},
	}
	forEachImpl(t, func(t *testing.T) {
		for name, f := range cases {
			for _, n := range []int{1, 7, 31, 32, 33, 63, 64, 65, 100, 300} {
				x := make([]float32, n)
				for i := range x {
					x[i] = f(i)
				}
				t.Run(name, func(t *testing.T) { checkQuantize(t, x) })
			}
		}
	})
}

func TestQuantizeI8Values(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		// Scale 1: ties go to even.
		x := []float32{127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49, -127}
		q := make([]int8, len(x))
		s, sum := QuantizeI8(q, x)
		assert.Equal(t, float32(1), s)
		assert.Equal(t, []int8{127, 0, 2, 2, 0, -2, -2, 3, -127}, q)
		assert.Equal(t, int32(3), sum)

		// All zeros: the floor 1e-5 sets the scale.
		z := make([]float32, 40)
		qz := make([]int8, 40)
		s, sum = QuantizeI8(qz, z)
		assert.Equal(t, float32(127)/float32(1e-5), s)
		assert.Equal(t, int32(0), sum)

		// NaN gives −128 in every tier.
		n := make([]float32, 70)
		n[3], n[69] = float32(math.NaN()), 1
		qn := make([]int8, 70)
		_, sum = QuantizeI8(qn, n)
		assert.Equal(t, int8(-128), qn[3])
		assert.Equal(t, int8(127), qn[69])
		assert.Equal(t, int32(-1), sum)

		assert.Panics(t, func() { QuantizeI8(make([]int8, 3), make([]float32, 4)) })
	})
}
