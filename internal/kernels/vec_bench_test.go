package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkVec times the element-wise steps at 2B4T's widths (hidden 2560,
// feed-forward 6912); they run between the matrix products of every layer.
func BenchmarkVec(b *testing.B) {
	rng := rand.New(rand.NewPCG(10, 10))
	x, w := randomF32(b, rng, 6912), randomF32(b, rng, 6912)
	out := make([]float32, 6912)
	forEachImplB(b, func(b *testing.B) {
		for _, n := range []int{2560, 6912} {
			x, w, out := x[:n], w[:n], out[:n]
			b.Run(fmt.Sprintf("op=sumsquares/n=%d", n), func(b *testing.B) {
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					SumSquares(x)
				}
			})
			b.Run(fmt.Sprintf("op=scalemul/n=%d", n), func(b *testing.B) {
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					ScaleMul(out, x, w, 0.5)
				}
			})
			b.Run(fmt.Sprintf("op=relusqmul/n=%d", n), func(b *testing.B) {
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					copy(out, x)
					ReLUSqMul(out, w)
				}
			})
		}
	})
}

// BenchmarkAttention times one head's attention over a 1024-token cache
// (2B4T's head size): the scores and the weighted sum of the values.
func BenchmarkAttention(b *testing.B) {
	const hd, span = 128, 1024
	rng := rand.New(rand.NewPCG(12, 12))
	keys, values := randomF32(b, rng, span*hd), randomF32(b, rng, span*hd)
	q, sc, out := randomF32(b, rng, hd), make([]float32, span), make([]float32, hd)
	forEachImplB(b, func(b *testing.B) {
		b.Run(fmt.Sprintf("op=scores/span=%d", span), func(b *testing.B) {
			b.SetBytes(4 * span * hd)
			for b.Loop() {
				MatVecF32(sc, keys, q)
			}
		})
		b.Run(fmt.Sprintf("op=values/span=%d", span), func(b *testing.B) {
			b.SetBytes(4 * span * hd)
			for b.Loop() {
				WeightedSumF32(out, sc, values, hd)
			}
		})
	})
}
