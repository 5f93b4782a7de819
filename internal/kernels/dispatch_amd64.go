//go:build gc && !purego

package kernels

import "github.com/org/bitnet/internal/cpu"

// Dispatch flags, set once from internal/cpu (after BITNET_CPU); tests
// switch them with selectImplementation. Each wrapper picks the most capable
// kernel whose flag is set; a kernel without an AVX-512 (or VNNI) version
// runs its next lower one in those tiers.
var (
	useAVX2   = cpu.X86.Tier() >= cpu.AVX2
	useAVX512 = cpu.X86.Tier() >= cpu.AVX512
	useVNNI   = useAVX512 && cpu.X86.HasAVX512VNNI // VPDPBUSD in the I2_S kernels
)

func init() {
	register("avx2", useAVX2, &useAVX2)
	register("avx512", useAVX512, &useAVX2, &useAVX512)
	register("avx512vnni", useVNNI, &useAVX2, &useAVX512, &useVNNI)
}

func quantizeI8(q []int8, x []float32) (float32, int32) {
	switch {
	case useAVX512:
		return quantizeI8Vec(q, x, 64, absMaxAVX512, quantizeAVX512)
	case useAVX2:
		return quantizeI8Vec(q, x, 32, absMaxAVX2, quantizeAVX2)
	}
	return quantizeI8Generic(q, x)
}

// quantizeI8Vec runs the vector kernels on the first len(x) &^ (width−1)
// values and the Go code of quantizeI8Generic on the rest.
func quantizeI8Vec(q []int8, x []float32, width int,
	absMax func([]float32) float32, quantize func([]int8, []float32, float32) int32) (float32, int32) {
	n := len(x) &^ (width - 1)
	m := absMaxFrom(max(absMin, absMax(x[:n])), x[n:])
	scale := 127 / m
	sum := quantize(q[:n], x[:n], scale)
	sum += quantizeRange(q[n:], x[n:], scale)
	return scale, sum
}

// streamBytes is the matrix size from which matVecI2S of the AVX-512 tier
// (without VNNI) runs the AVX2 kernel: a matrix that large comes from
// memory, not cache, in a decode step, and there the 256-bit kernel reads
// faster on Zen 4. The VNNI kernel, which masks the codes in place and
// needs no shifts, is the fastest tier from memory and from cache alike.
const streamBytes = 512 << 10

// vnniMaxK bounds k for the VNNI matrix-vector kernel, whose scaled
// group accumulators would overflow beyond it.
const vnniMaxK = 1 << 22

func matVecI2S(dst []int32, w []byte, q []int8) {
	switch {
	case useVNNI && len(q) < vnniMaxK:
		matVecI2SAVX512VNNI(dst, w, q)
	case useAVX2 && len(w) >= streamBytes:
		matVecI2SAVX2(dst, w, q)
	case useAVX512:
		matVecI2SAVX512(dst, w, q)
	case useAVX2:
		matVecI2SAVX2(dst, w, q)
	default:
		matVecI2SGo(dst, w, q)
	}
}

// A matMulTile kernel applies rows of w to a fixed number of tokens.
type matMulTile func(dst []int32, ldd int, w []byte, rows int, q []int8, k int)

var (
	matMulI2SAVX2Tiles = [...]matMulTile{
		matMulI2SAVX2T1, matMulI2SAVX2T2, matMulI2SAVX2T3, matMulI2SAVX2T4,
		matMulI2SAVX2T5, matMulI2SAVX2T6, matMulI2SAVX2T7, matMulI2SAVX2T8,
	}
	matMulI2SAVX512Tiles = [...]matMulTile{
		matMulI2SAVX512T1, matMulI2SAVX512T2, matMulI2SAVX512T3, matMulI2SAVX512T4,
		matMulI2SAVX512T5, matMulI2SAVX512T6, matMulI2SAVX512T7, matMulI2SAVX512T8,
	}
	matMulI2SAVX512VNNITiles = [...]matMulTile{
		matMulI2SAVX512VNNIT1, matMulI2SAVX512VNNIT2, matMulI2SAVX512VNNIT3, matMulI2SAVX512VNNIT4,
		matMulI2SAVX512VNNIT5, matMulI2SAVX512VNNIT6, matMulI2SAVX512VNNIT7, matMulI2SAVX512VNNIT8,
	}
)

func matMulI2S(dst []int32, ldd int, w []byte, rows int, q []int8, k, n int) {
	switch {
	case useVNNI:
		matMulTiles(matMulI2SAVX512VNNITiles[:], dst, ldd, w, rows, q, k, n)
	case useAVX512:
		matMulTiles(matMulI2SAVX512Tiles[:], dst, ldd, w, rows, q, k, n)
	case useAVX2:
		matMulTiles(matMulI2SAVX2Tiles[:], dst, ldd, w, rows, q, k, n)
	default:
		matMulI2SGo(dst, ldd, w, rows, q, k, n)
	}
}

// tileBytes bounds the activations of one tile of tokens (tile·k bytes),
// which every row of the matrix reads again: they must stay in the 32 KiB
// L1 data cache next to the weights, or k = 6912 (the down projection)
// runs 40% slower.
const tileBytes = 28 << 10

// matMulTiles covers the n tokens with full tiles and one smaller tile.
func matMulTiles(tiles []matMulTile, dst []int32, ldd int, w []byte, rows int, q []int8, k, n int) {
	tile := min(len(tiles), max(1, tileBytes/k))
	for t := 0; t < n; t += tile {
		size := min(tile, n-t)
		tiles[size-1](dst[t*ldd:], ldd, w, rows, q[t*k:], k)
	}
}

func matVecF16(dst []float32, w []uint16, x []float32) {
	switch {
	case (useAVX512 || useAVX2) && len(x) >= 8:
		// One kernel for both tiers: see asm/f16.
		matVecF16AVX2(dst, w, x)
	default:
		matVecF16Generic(dst, w, x)
	}
}

func dotF32(a, b []float32) float32 {
	if useAVX2 && len(a)&15 == 0 && len(a) > 0 {
		return dotF32AVX2(a, b)
	}
	return dotF32Generic(a, b) // tails keep the reference's lane order
}

func axpyF32(y []float32, a float32, x []float32) {
	if n := len(y) &^ 15; useAVX2 && n > 0 {
		axpyF32AVX2(y[:n], a, x[:n])
		y, x = y[n:], x[n:]
	}
	axpyF32Generic(y, a, x)
}

func dotBF16(w []uint16, x []float32) float32 {
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

func sumSquares16(x []float32, s *[16]float64) {
	if useAVX2 {
		sumSquares16AVX2(x, s)
		return
	}
	sumSquares16Generic(x, s)
}

func scaleMul(out, x, w []float32, r float32) {
	if useAVX2 {
		scaleMulAVX2(out, x, w, r)
		return
	}
	scaleMulGeneric(out, x, w, r)
}

func reluSqMul(g, u []float32) {
	if useAVX2 {
		reluSqMulAVX2(g, u)
		return
	}
	reluSqMulGeneric(g, u)
}

func add(x, y []float32) {
	if useAVX2 {
		addAVX2(x, y)
		return
	}
	addGeneric(x, y)
}

func f16ToF32(dst []float32, src []uint16) {
	if useAVX2 {
		f16ToF32AVX2(dst, src)
		return
	}
	f16ToF32Generic(dst, src)
}

func dotRowsF32(dst []float32, w []float32, x []float32) {
	if useAVX2 && len(x)&15 == 0 {
		dotRowsF32AVX2(dst, w, x)
		return
	}
	dotRowsF32Generic(dst, w, x)
}

func weightedSumF32(out, a, v []float32, stride int) {
	if useAVX2 { // WeightedSumF32 passes chunks of 8 to 64 columns
		weightedSumF32AVX2(out, a, v, stride)
		return
	}
	weightedSumF32Generic(out, a, v, stride)
}
