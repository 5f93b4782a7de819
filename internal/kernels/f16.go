package kernels

import (
	"math"

	"github.com/x448/float16"
)

// f16Table maps every f16 bit pattern to its float32 value.
var f16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = float16.Frombits(uint16(i)).Float32()
	}
	return &t
}()

// F16ToF32 converts one IEEE half-precision value.
func F16ToF32(h uint16) float32 { return f16Table[h] }

// BF16ToF32 converts one bfloat16 value.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// dotF16Generic returns Σ f16(w_j)·x_j, accumulating in 8 float32 lanes
// (lane j mod 8, in column order) that are then added pairwise, the order
// the SIMD tiers use. Each product is rounded to float32 before it is
// added: the explicit conversion forbids the compiler to fuse the multiply
// and add (the Go spec allows fusion otherwise, and the arm64 compiler
// does fuse this loop into FMADDS), and the assembly uses VMULPS then VADDPS
// to match. So every tier, architecture and build gives the same bits.
func dotF16Generic(w []uint16, x []float32) float32 {
	var acc [8]float32
	n := len(x) &^ 7
	for j := 0; j < n; j += 8 {
		ww := w[j : j+8 : j+8]
		xx := x[j : j+8 : j+8]
		for l := range 8 {
			acc[l] += float32(f16Table[ww[l]] * xx[l])
		}
	}
	for j := n; j < len(x); j++ {
		acc[j&7] += float32(f16Table[w[j]] * x[j])
	}
	return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

// matVecF16Generic sets dst[r] = Σ_j f16(w[r·k+j])·x[j], k = len(x).
func matVecF16Generic(dst []float32, w []uint16, x []float32) {
	k := len(x)
	for r := range dst {
		dst[r] = dotF16Generic(w[r*k:(r+1)*k], x)
	}
}
