package kernels

// The exported kernels check their arguments and call the per-architecture
// dispatch (dispatch_amd64.go, dispatch_noasm.go), so that no assembly
// kernel ever sees an out-of-range slice.

// QuantizeI8 quantizes x to int8 in q (len(q) ≥ len(x)) per token, absmax:
// s = 127/max(max|x|, 1e-5), q_j = round_half_even(float32(x_j·s)) (within
// [−127, 127]; a NaN gives −128). It returns s and Σ q_j. Entries of q past
// len(x) are left alone.
func QuantizeI8(q []int8, x []float32) (scale float32, sum int32) {
	if len(q) < len(x) {
		panic("kernels: QuantizeI8: len(q) < len(x)")
	}
	return quantizeI8(q[:len(x)], x)
}

// MatVecI2S sets dst[r] = Σ_j c[r][j]·q[j] for r < len(dst), where w is an
// I2_S matrix of len(dst) rows and len(q) columns (a multiple of 128), c
// its unsigned codes. The ternary product is dst[r] − Σq. It panics if
// len(q) is not a multiple of 128 or w is shorter than len(dst)·len(q)/4.
func MatVecI2S(dst []int32, w []byte, q []int8) {
	k := len(q)
	if k%BlockSize != 0 {
		panic("kernels: MatVecI2S: len(q) is not a multiple of 128")
	}
	if len(w)/RowBytes(max(k, 4)) < len(dst) && k > 0 {
		panic("kernels: MatVecI2S: w is shorter than len(dst)·len(q)/4")
	}
	if k == 0 {
		clear(dst)
		return
	}
	if len(dst) == 0 {
		return
	}
	matVecI2S(dst, w, q)
}

// MatMulI2S is MatVecI2S for n tokens at once: q holds n vectors of k int8
// values one after another, and dst[t·ldd + r] receives row r's code sum for
// token t, for r < rows; other entries of dst are left alone. Each weight is
// loaded once for a tile of tokens. k must be a multiple of 128, ldd ≥ rows
// when n > 1, len(w) ≥ rows·k/4, len(q) ≥ n·k and len(dst) ≥ (n−1)·ldd+rows.
func MatMulI2S(dst []int32, ldd int, w []byte, rows int, q []int8, k, n int) {
	switch {
	case rows < 0 || k < 0 || n < 0 || k%BlockSize != 0:
		panic("kernels: MatMulI2S: bad shape")
	case rows == 0 || n == 0:
		return
	case n > 1 && ldd < rows:
		panic("kernels: MatMulI2S: ldd < rows")
	case len(w)/RowBytes(max(k, 4)) < rows && k > 0,
		len(q)/max(k, 1) < n && k > 0,
		(len(dst)-rows)/max(ldd, 1) < n-1 || len(dst) < rows:
		panic("kernels: MatMulI2S: slice too short")
	}
	if k == 0 {
		for t := range n {
			clear(dst[t*ldd : t*ldd+rows])
		}
		return
	}
	if n == 1 {
		matVecI2S(dst[:rows], w, q[:k])
		return
	}
	matMulI2S(dst, ldd, w, rows, q, k, n)
}

// MatVecF16 sets dst[r] = Σ_j f16(w[r·k+j])·x[j] with k = len(x), each
// product rounded to float32 and summed in the order of dotF16Generic (so
// every tier gives the same bits). It panics if len(w) < len(dst)·len(x).
func MatVecF16(dst []float32, w []uint16, x []float32) {
	if k := len(x); k > 0 && len(w)/k < len(dst) {
		panic("kernels: MatVecF16: w is shorter than len(dst)·len(x)")
	}
	if len(x) == 0 {
		clear(dst)
		return
	}
	matVecF16(dst, w, x)
}
