package kernels

// QuantizeI8 quantizes x to int8 in q (len(q) ≥ len(x)) per token, absmax:
// s = 127/max(max|x|, 1e-5), q_j = round_half_even(x_j·s). It returns s and
// Σ q_j. Entries of q past len(x) are left alone.
func QuantizeI8(q []int8, x []float32) (scale float32, sum int32) {
	return quantizeI8Generic(q, x)
}

// MatVecI2S sets dst[r] = Σ_j c[r][j]·q[j] for r < len(dst), where w is an
// I2_S matrix of len(dst) rows and len(q) columns (a multiple of 128), c
// its unsigned codes. The ternary product is dst[r] − Σq.
func MatVecI2S(dst []int32, w []byte, q []int8) {
	matVecI2SGeneric(dst, w, q)
}

// MatMulI2S is MatVecI2S for n tokens at once: q holds n vectors of k int8
// values one after another, and dst[t·ldd + r] receives row r's code sum for
// token t, for r < rows. Each weight is loaded once for a tile of tokens.
func MatMulI2S(dst []int32, ldd int, w []byte, rows int, q []int8, k, n int) {
	matMulI2SGeneric(dst, ldd, w, rows, q, k, n)
}

// MatVecF16 sets dst[r] = Σ_j f16(w[r·k+j])·x[j] with k = len(x).
func MatVecF16(dst []float32, w []uint16, x []float32) {
	matVecF16Generic(dst, w, x)
}
