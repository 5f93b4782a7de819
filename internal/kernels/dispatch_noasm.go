//go:build !amd64 || !gc || purego

package kernels

// Without the assembly kernels the exported kernels run Go: the I2_S ones
// the faster portable code of i2s_go.go, the others their reference.

func quantizeI8(q []int8, x []float32) (float32, int32) { return quantizeI8Generic(q, x) }

func matVecI2S(dst []int32, w []byte, q []int8) { matVecI2SGo(dst, w, q) }

func matMulI2S(dst []int32, ldd int, w []byte, rows int, q []int8, k, n int) {
	matMulI2SGo(dst, ldd, w, rows, q, k, n)
}

func matVecF16(dst []float32, w []uint16, x []float32) { matVecF16Generic(dst, w, x) }
