package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMatVecQ8(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, rows := range []int{1, 2, 3, 4, 5, 9, 17} {
			for _, k := range []int{1, 63, 64, 128, 192, 200, 256, 320, 512, 576, 960, 1024, 2560} {
				f := randF32(rng, rows*k)
				w := make([]int8, rows*k)
				scale := make([]float32, rows)
				sum := make([]int32, rows)
				for r := range rows {
					scale[r], sum[r] = QuantizeRowI8(w[r*k:(r+1)*k], f[r*k:(r+1)*k])
				}
				if k == 64 {
					for i := range w { // extremes
						w[i] = []int8{-128, 127, -127}[i%3]
					}
					for r := range rows {
						sum[r] = 0
						for _, v := range w[r*k : (r+1)*k] {
							sum[r] += int32(v)
						}
					}
				}
				x := randF32(rng, k)
				u, l := make([]uint8, k), make([]uint8, k)
				s := QuantizeQ16(u, l, x)

				want := make([]int32, 2*rows)
				matVecQ8Generic(want, w, u, l)
				got := make([]int32, 2*rows+1)
				got[2*rows] = 42 // guard
				matVecQ8(got[:2*rows], w, u, l)
				require.Equal(t, want, got[:2*rows], "rows=%d k=%d", rows, k)
				require.EqualValues(t, 42, got[2*rows])

				// The float result is within the rounding of x (16 bits) of the
				// product with the int8 matrix.
				dst := make([]float32, rows)
				MatVecQ8(dst, w, scale, sum, u, l, s, make([]int32, 2*rows))
				for r := range rows {
					var exact, mag float64
					for j := range k {
						exact += float64(w[r*k+j]) * float64(scale[r]) * float64(x[j])
						mag += math.Abs(float64(w[r*k+j]) * float64(scale[r]))
					}
					require.InDelta(t, exact, dst[r], mag/float64(s)+1e-5, "rows=%d k=%d r=%d", rows, k, r)
				}
			}
		}
	})
}

func TestQuantizeQ16(t *testing.T) {
	x := []float32{1, -1, 0.5, -0.25, 0, 1.0 / 32767}
	u, l := make([]uint8, len(x)), make([]uint8, len(x))
	s := QuantizeQ16(u, l, x)
	require.Equal(t, float32(32767), s)
	for j, v := range x {
		q := 256*(int32(u[j])-128) + int32(l[j])
		require.EqualValues(t, math.RoundToEven(float64(v*s)), q, "j=%d", j)
	}
}

func TestQuantizeRowI8(t *testing.T) {
	q := make([]int8, 4)
	s, sum := QuantizeRowI8(q, []float32{1, -0.5, 0.25, 0})
	require.Equal(t, float32(1.0/127), s)
	require.Equal(t, []int8{127, -64, 32, 0}, q) // -63.5 → -64, 31.75 → 32 (half to even)
	require.EqualValues(t, 95, sum)
	s, sum = QuantizeRowI8(q, []float32{0, 0, 0, 0})
	require.Zero(t, s)
	require.Zero(t, sum)
	require.Equal(t, []int8{0, 0, 0, 0}, q)
}

func BenchmarkMatVecQ8(b *testing.B) {
	forEachImplB(b, func(b *testing.B) {
		for _, m := range []int{64, 128256} {
			k := 2560
			b.Run(fmt.Sprintf("m=%d/k=%d", m, k), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				w := make([]int8, m*k)
				for i := range w {
					w[i] = int8(rng.IntN(255) - 127)
				}
				u, l := make([]uint8, k), make([]uint8, k)
				QuantizeQ16(u, l, randF32(rng, k))
				acc := make([]int32, 2*m)
				b.SetBytes(int64(m * k))
				b.ResetTimer()
				for range b.N {
					matVecQ8(acc, w, u, l)
				}
			})
		}
	})
}
