package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func randF32(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// TestDotAxpyF32: every tier gives the Go reference's bits.
func TestDotAxpyF32(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, n := range []int{0, 1, 7, 15, 16, 17, 33, 64, 128, 129, 1000} {
			a, b := randF32(rng, n), randF32(rng, n+3)
			require.Equal(t, math.Float32bits(dotF32Generic(a, b)), math.Float32bits(DotF32(a, b)), "dot n=%d", n)

			y := randF32(rng, n)
			want := append(make([]float32, 0, n), y...)
			axpyF32Generic(want, 0.37, b)
			AxpyF32(y, 0.37, b)
			require.Equal(t, want, y, "axpy n=%d", n)

			w := make([]uint16, n+2)
			for i := range w {
				w[i] = uint16(math.Float32bits(float32(rng.NormFloat64())) >> 16)
			}
			require.Equal(t, math.Float32bits(dotBF16Generic(w, a)), math.Float32bits(DotBF16(w, a)), "bf16 n=%d", n)
		}
	})
}

func BenchmarkDotF32(b *testing.B) {
	forEachImplB(b, func(b *testing.B) {
		for _, n := range []int{64, 128} {
			b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				x, y := randF32(rng, n), randF32(rng, n)
				b.SetBytes(int64(8 * n))
				var s float32
				for range b.N {
					s += DotF32(x, y)
				}
				_ = s
			})
		}
	})
}

// TestAttentionKernels: the scores of a query against a head's keys in one
// call equal one DotF32 per key, and the weighted sum of the values equals
// a chain of AxpyF32 on zeros, bit for bit, at head sizes with and without
// tails and chunks.
func TestAttentionKernels(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 11))
		for _, hd := range []int{7, 16, 20, 32, 64, 72, 100, 128, 130} {
			for _, span := range []int{0, 1, 2, 5, 33} {
				for _, pad := range []int{0, 3} {
					stride := hd + pad
					kv := randomF32(t, rng, max(span*stride, 1))
					q := randomF32(t, rng, hd)

					want := make([]float32, span)
					for p := range want {
						want[p] = dotF32Generic(kv[p*stride:p*stride+hd], q)
					}
					if pad == 0 {
						got := make([]float32, span+1)
						got[span] = -7
						MatVecF32(got[:span], kv, q)
						require.Equal(t, float32(-7), got[span], "wrote past dst")
						sameBits(t, want, got[:span], "MatVecF32")
					}

					a := randomF32(t, rng, span)
					wantOut := make([]float32, hd)
					for p := range a {
						axpyF32Generic(wantOut, a[p], kv[p*stride:p*stride+hd])
					}
					out := make([]float32, hd+1)
					for i := range out {
						out[i] = -7
					}
					WeightedSumF32(out[:hd], a, kv, stride)
					require.Equal(t, float32(-7), out[hd], "wrote past out")
					sameBits(t, wantOut, out[:hd], "WeightedSumF32")
				}
			}
		}
	})
}
