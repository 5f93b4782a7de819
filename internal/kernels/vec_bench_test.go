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
