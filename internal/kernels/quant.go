package kernels

import "math"

// quantizeI8Generic quantizes x per token to int8 (absmax): with
// m = max(max_j |x_j|, 1e-5) and s = 127/m it sets q_j = round(x_j·s) (round
// half to even; the result is within [−127, 127]) and returns s and Σ q_j.
func quantizeI8Generic(q []int8, x []float32) (scale float32, sum int32) {
	m := float32(1e-5)
	for _, v := range x {
		if a := abs32(v); a > m {
			m = a
		}
	}
	scale = 127 / m
	q = q[:len(x)]
	for j, v := range x {
		r := int32(math.RoundToEven(float64(v * scale)))
		r = min(max(r, -128), 127)
		q[j] = int8(r)
		sum += r
	}
	return scale, sum
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
