//go:build gc && !purego

package kernels

// DotF32 returns Σ a[j]·b[j] (len(b) ≥ len(a)).
func DotF32(a, b []float32) float32 {
	n := len(a) &^ 15
	if !useAVX2 || n == 0 {
		return dotF32Generic(a, b)
	}
	if n == len(a) {
		return dotF32AVX2(a, b)
	}
	return dotF32Generic(a, b) // tails keep the reference's lane order
}

// AxpyF32 sets y[i] += a·x[i] for i < len(y) (len(x) ≥ len(y)).
func AxpyF32(y []float32, a float32, x []float32) {
	n := len(y) &^ 15
	if useAVX2 && n > 0 {
		x = x[:len(y)]
		axpyF32AVX2(y[:n], a, x[:n])
		y, x = y[n:], x[n:]
	}
	axpyF32Generic(y, a, x)
}

// DotBF16 returns Σ bf16(w[j])·x[j] (len(w) ≥ len(x)).
func DotBF16(w []uint16, x []float32) float32 {
	if useAVX2 && len(x)&15 == 0 && len(x) > 0 {
		return dotBF16AVX2(w, x)
	}
	return dotBF16Generic(w, x)
}

func matVecQ8(dst []int32, w []int8, u, l []uint8) {
	if useVNNI && len(u)&63 == 0 && len(u) > 0 && len(dst) >= 2 {
		matVecQ8VNNI(dst, w[:len(dst)/2*len(u)], u, l[:len(u)])
		return
	}
	matVecQ8Generic(dst, w, u, l)
}
