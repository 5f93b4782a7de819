//go:build !amd64 || !gc || purego

package kernels

// Without the assembly kernels every exported kernel runs its Go reference.

func quantizeI8(q []int8, x []float32) (float32, int32) { return quantizeI8Generic(q, x) }

func matVecI2S(dst []int32, w []byte, q []int8) { matVecI2SGeneric(dst, w, q) }

func matMulI2S(dst []int32, ldd int, w []byte, rows int, q []int8, k, n int) {
	matMulI2SGeneric(dst, ldd, w, rows, q, k, n)
}

func matVecF16(dst []float32, w []uint16, x []float32) { matVecF16Generic(dst, w, x) }
