package kernels

import "math"

// The opt-in int8 output matrix: each row of the output matrix is stored as
// int8 with one f32 scale (amax/127) and its integer sum; the activation
// vector is quantized to 16 bits and split into two byte planes, so that
// the products are exact integers (see asm/q8).

// QuantizeRowI8 stores row as int8 in q with the scale amax/127 (round half
// to even) and returns the scale and Σq.
func QuantizeRowI8(q []int8, row []float32) (scale float32, sum int32) {
	var m float32
	for _, v := range row {
		m = max(m, abs32(v))
	}
	if m == 0 {
		clear(q[:len(row)])
		return 0, 0
	}
	inv := 127 / m
	for j, v := range row {
		r := int8(math.RoundToEven(float64(v * inv)))
		q[j] = r
		sum += int32(r)
	}
	return m / 127, sum
}

// QuantizeQ16 quantizes x to 16 bits, q = round(x·s) with s = 32767/max|x|
// (max at least 1e-30), and stores q's high byte plus 128 in u and its low
// byte in l (q = 256·(u−128) + l). It returns s.
func QuantizeQ16(u, l []uint8, x []float32) float32 {
	m := float32(1e-30)
	for _, v := range x {
		m = max(m, abs32(v))
	}
	s := 32767 / m
	for j, v := range x {
		q := int32(math.RoundToEven(float64(v * s)))
		q = min(max(q, -32768), 32767)
		u[j] = uint8(q>>8) + 128
		l[j] = uint8(q)
	}
	return s
}

// matVecQ8Generic sets dst[2r] = Σ_j w[r·k+j]·u[j] and dst[2r+1] =
// Σ_j w[r·k+j]·l[j] for r < len(dst)/2, k = len(u).
func matVecQ8Generic(dst []int32, w []int8, u, l []uint8) {
	k := len(u)
	l = l[:k]
	for r := 0; r < len(dst)/2; r++ {
		row := w[r*k : (r+1)*k]
		var a, b int32
		for j, v := range row {
			a += int32(v) * int32(u[j])
			b += int32(v) * int32(l[j])
		}
		dst[2*r], dst[2*r+1] = a, b
	}
}

// MatVecQ8 sets dst[r] ≈ Σ_j w[r·k+j]·scale[r]·x[j] for r < len(dst), where
// u, l and s come from QuantizeQ16(x) and sum[r] = Σ_j w[r·k+j]. acc is
// scratch of at least 2·len(dst) int32.
func MatVecQ8(dst []float32, w []int8, scale []float32, sum []int32, u, l []uint8, s float32, acc []int32) {
	acc = acc[:2*len(dst)]
	matVecQ8(acc, w, u, l)
	for r := range dst {
		v := 256*(int64(acc[2*r])-128*int64(sum[r])) + int64(acc[2*r+1])
		dst[r] = float32(v) * (scale[r] / s)
	}
}
