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

// F16ToF32Row converts src[:len(dst)] into dst (the value of a NaN's
// payload may differ between tiers; every other value converts exactly).
func F16ToF32Row(dst []float32, src []uint16) {
	src = src[:len(dst)]
	n := len(dst) &^ 31
	f16ToF32(dst[:n], src)
	f16ToF32Generic(dst[n:], src[n:])
}

func f16ToF32Generic(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for j, h := range src {
		dst[j] = f16Table[h]
	}
}

// BF16ToF32 converts one bfloat16 value.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// dotF16Generic returns Σ f16(w_j)·x_j, accumulating in 32 float32 partial
// sums (sum j mod 32, in column order) that are then added in a fixed
// order, the order the SIMD tiers use (four 8-lane accumulators, so that a
// row's additions do not wait on each other). Each product is rounded to
// float32 before it is added: the explicit conversion forbids the compiler
// to fuse the multiply and add (the Go spec allows fusion otherwise, and the
// arm64 compiler does fuse this loop into FMADDS), and the assembly uses
// VMULPS then VADDPS to match. So every tier, architecture and build gives
// the same bits.
func dotF16Generic(w []uint16, x []float32) float32 {
	var s [32]float32
	n := len(x) &^ 31
	for j := 0; j < n; j += 32 {
		ww := w[j : j+32 : j+32]
		xx := x[j : j+32 : j+32]
		for l := range 32 {
			s[l] += float32(f16Table[ww[l]] * xx[l])
		}
	}
	for j := n; j < len(x); j++ {
		s[j&31] += float32(f16Table[w[j]] * x[j])
	}
	var t [8]float32
	for l := range t {
		t[l] = (s[l] + s[8+l]) + (s[16+l] + s[24+l])
	}
	return ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]))
}

// matVecF16Generic sets dst[r] = Σ_j f16(w[r·k+j])·x[j], k = len(x).
func matVecF16Generic(dst []float32, w []uint16, x []float32) {
	k := len(x)
	for r := range dst {
		dst[r] = dotF16Generic(w[r*k:(r+1)*k], x)
	}
}
