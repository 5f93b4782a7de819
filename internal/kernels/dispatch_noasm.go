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

func dotF32(a, b []float32) float32 { return dotF32Generic(a, b) }

func axpyF32(y []float32, a float32, x []float32) { axpyF32Generic(y, a, x) }

func dotBF16(w []uint16, x []float32) float32 { return dotBF16Generic(w, x) }

func matVecQ8(dst []int32, w []int8, u, l []uint8) { matVecQ8Generic(dst, w, u, l) }

func sumSquares16(x []float32, s *[16]float64) { sumSquares16Generic(x, s) }

func scaleMul(out, x, w []float32, r float32) { scaleMulGeneric(out, x, w, r) }

func reluSqMul(g, u []float32) { reluSqMulGeneric(g, u) }

func add(x, y []float32) { addGeneric(x, y) }

func f16ToF32(dst []float32, src []uint16) { f16ToF32Generic(dst, src) }

func dotRowsF32(dst []float32, w []float32, x []float32) { dotRowsF32Generic(dst, w, x) }

func weightedSumF32(out, a, v []float32, stride int) { weightedSumF32Generic(out, a, v, stride) }
