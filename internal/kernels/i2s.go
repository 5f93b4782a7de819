package kernels

// dotI2SGeneric returns Σ_j c_j·q_j over one row: c are the unsigned 2-bit
// codes of w (len(w) = len(q)/4) and q the int8 activations. Subtracting
// Σq from the result gives Σ (c_j−1)·q_j, the ternary dot product.
func dotI2SGeneric(w []byte, q []int8) int32 {
	var sum int32
	for b := 0; b+32 <= len(w); b += 32 {
		blk := w[b : b+32 : b+32]
		x := q[4*b : 4*b+128 : 4*b+128]
		var s int32
		for j, v := range blk {
			s += int32(v>>6) * int32(x[j])
			s += int32(v>>4&3) * int32(x[j+32])
			s += int32(v>>2&3) * int32(x[j+64])
			s += int32(v&3) * int32(x[j+96])
		}
		sum += s
	}
	return sum
}

// matVecI2SGeneric sets dst[r] = Σ_j c[r][j]·q[j] for each row r of the
// I2_S matrix w with len(q) columns; len(dst) is the number of rows.
func matVecI2SGeneric(dst []int32, w []byte, q []int8) {
	rb := len(q) / 4
	for r := range dst {
		dst[r] = dotI2SGeneric(w[r*rb:(r+1)*rb], q)
	}
}

// matMulI2SGeneric applies the I2_S matrix w (len(dst0) rows... see
// MatMulI2S) to n token vectors: q holds n rows of k int8 values and
// dst[t*ldd + r] receives row r's sum for token t.
func matMulI2SGeneric(dst []int32, ldd int, w []byte, rows int, q []int8, k, n int) {
	rb := k / 4
	for r := 0; r < rows; r++ {
		row := w[r*rb : (r+1)*rb]
		for t := 0; t < n; t++ {
			dst[t*ldd+r] = dotI2SGeneric(row, q[t*k:(t+1)*k])
		}
	}
}
