package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// specialF32 returns n values, mostly normal ones of mixed size and sign,
// with zeros of both signs, subnormals, infinities and NaNs among them.
func specialF32(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch rng.IntN(40) {
		case 0:
			x[i] = float32(math.Copysign(0, -1))
		case 1:
			x[i] = 0
		case 2:
			x[i] = math.Float32frombits(uint32(rng.IntN(1 << 23)))
		case 3:
			x[i] = float32(math.Inf(1 - 2*rng.IntN(2)))
		case 4:
			x[i] = float32(math.NaN())
		default:
			x[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(7)-3)))
		}
	}
	return x
}

// sameBits compares float32s bit for bit, any NaN matching any NaN.
func sameBits(t *testing.T, want, got []float32, what string) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		w, g := want[i], got[i]
		if w != w && g != g {
			continue
		}
		require.Equal(t, math.Float32bits(w), math.Float32bits(g), "%s[%d] of %d: %v vs %v", what, i, len(want), w, g)
	}
}

var vecLengths = []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 2560, 6912}

func TestSumSquares(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(8, 8))
		for _, n := range vecLengths {
			for _, special := range []bool{false, true} {
				x := randomF32(t, rng, n)
				if special {
					x = specialF32(rng, n)
				}
				var s [16]float64
				for j, v := range x {
					s[j%16] += float64(v) * float64(v)
				}
				var b [4]float64
				for l := range b {
					b[l] = (s[l] + s[4+l]) + (s[8+l] + s[12+l])
				}
				want := (b[0] + b[1]) + (b[2] + b[3])
				got := SumSquares(x)
				if want != want {
					require.True(t, got != got, "n=%d: %v, want NaN", n, got)
					continue
				}
				require.Equal(t, math.Float64bits(want), math.Float64bits(got), "n=%d: %v vs %v", n, got, want)
			}
		}
	})
}

func TestElementwise(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 9))
		for _, n := range vecLengths {
			x, w, u := specialF32(rng, n), specialF32(rng, n), specialF32(rng, n)
			r := float32(rng.Float64() * 3)

			want := make([]float32, n)
			for j := range want {
				want[j] = w[j] * (x[j] * r)
			}
			got := append([]float32(nil), x...)
			ScaleMul(got, got, w, r) // in place, as rmsNorm uses it
			sameBits(t, want, got, "ScaleMul")

			for j, v := range x {
				v = max(v, 0)
				want[j] = v * v * u[j]
			}
			got = append(got[:0], x...)
			ReLUSqMul(got, u)
			sameBits(t, want, got, "ReLUSqMul")

			for j := range want {
				want[j] = x[j] + u[j]
			}
			got = append(got[:0], x...)
			Add(got, u)
			sameBits(t, want, got, "Add")
		}
	})
}
