package kernels

import "math"

// absMin is the floor of the absmax: an all-zero vector gets s = 127/1e-5.
const absMin = float32(1e-5)

// quantizeI8Generic quantizes x per token to int8 (absmax): with
// m = max(max_j |x_j|, 1e-5) and s = 127/m it sets q_j = round(x_j·s) (round
// half to even; the result is within [−127, 127]) and returns s and Σ q_j.
func quantizeI8Generic(q []int8, x []float32) (scale float32, sum int32) {
	scale = 127 / absMaxFrom(absMin, x)
	return scale, quantizeRange(q, x, scale)
}

// absMaxFrom returns the largest of m and the |x_j|; NaNs are skipped.
func absMaxFrom(m float32, x []float32) float32 {
	for _, v := range x {
		if a := abs32(v); a > m {
			m = a
		}
	}
	return m
}

// quantizeRange sets q_j = clamp(round_half_even(float32(x_j·scale)),
// −128, 127), a NaN giving −128 (what VCVTPS2DQ and a clamp give), and
// returns Σ q_j.
func quantizeRange(q []int8, x []float32, scale float32) (sum int32) {
	q = q[:len(x)]
	for j, v := range x {
		f := math.RoundToEven(float64(v * scale))
		var r int32
		switch {
		case !(f > -128): // also NaN
			r = -128
		case f > 127:
			r = 127
		default:
			r = int32(f)
		}
		q[j] = int8(r)
		sum += r
	}
	return sum
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
