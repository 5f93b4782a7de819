package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The fuzz targets fuzz shapes and seeds, not raw bytes (llama2.go
// FuzzMatMul), and compare every tier this CPU runs with the Go reference.

func FuzzMatVecI2S(f *testing.F) {
	f.Add(uint64(1), uint8(1), uint8(1))
	f.Add(uint64(2), uint8(37), uint8(20))
	f.Add(uint64(3), uint8(8), uint8(3))
	f.Add(uint64(4), uint8(255), uint8(1))
	f.Fuzz(func(t *testing.T, seed uint64, rows, blocks uint8) {
		rng := rand.New(rand.NewPCG(seed, 0))
		r, k := int(rows)%64, 128*(int(blocks)%24)
		w := randomI2S(t, rng, r, k, uint(seed>>62)) // codes up to 0..3
		q := randomI8(t, rng, k)
		want := make([]int32, r)
		matVecI2SGeneric(want, w, q)
		for _, name := range availableImpls() {
			restore := selectImplementation(name)
			got := withGuard(r)
			MatVecI2S(got, w, q)
			restore()
			checkGuard(t, got)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s: rows=%d k=%d: dst[%d] = %d, want %d", name, r, k, i, got[i], want[i])
				}
			}
		}
	})
}

func FuzzMatMulI2S(f *testing.F) {
	f.Add(uint64(1), uint8(1), uint8(1), uint8(2), uint8(0))
	f.Add(uint64(2), uint8(37), uint8(20), uint8(11), uint8(3))
	f.Add(uint64(3), uint8(9), uint8(3), uint8(17), uint8(1))
	f.Fuzz(func(t *testing.T, seed uint64, rows, blocks, tokens, pad uint8) {
		rng := rand.New(rand.NewPCG(seed, 1))
		r, k, n := int(rows)%48, 128*(int(blocks)%24), int(tokens)%24
		ldd := r + int(pad)%4
		w := randomI2S(t, rng, r, k, 2)
		q := randomI8(t, rng, n*k)
		size := max((n-1)*ldd+r, 0)
		want := withGuard(size)
		matMulI2SGeneric(want, ldd, w, r, q, k, n)
		for _, name := range availableImpls() {
			restore := selectImplementation(name)
			got := withGuard(size)
			MatMulI2S(got, ldd, w, r, q, k, n)
			restore()
			checkGuard(t, got)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s: rows=%d k=%d n=%d ldd=%d: dst[%d] = %d, want %d", name, r, k, n, ldd, i, got[i], want[i])
				}
			}
		}
	})
}

// FuzzQuantizeI8 reads the input as raw float32 bits, so NaNs, infinities
// and subnormals all occur.
func FuzzQuantizeI8(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0x3f})
	f.Add(make([]byte, 4*65))
	f.Add([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef!!!!"))
	f.Fuzz(func(t *testing.T, data []byte) {
		x := make([]float32, len(data)/4)
		for i := range x {
			x[i] = math.Float32frombits(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
		}
		want := make([]int8, len(x))
		ws, wsum := quantizeI8Generic(want, x)
		for _, name := range availableImpls() {
			restore := selectImplementation(name)
			got := make([]int8, len(x)+1)
			got[len(x)] = 99
			gs, gsum := QuantizeI8(got, x)
			restore()
			if math.Float32bits(gs) != math.Float32bits(ws) || gsum != wsum || got[len(x)] != 99 {
				t.Fatalf("%s: n=%d: scale %v sum %d, want %v %d (guard %d)", name, len(x), gs, gsum, ws, wsum, got[len(x)])
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s: n=%d: q[%d] = %d, want %d (x = %v)", name, len(x), i, got[i], want[i], x[i])
				}
			}
		}
	})
}

func FuzzMatVecF16(f *testing.F) {
	f.Add(uint64(1), uint8(1), uint16(8))
	f.Add(uint64(2), uint8(37), uint16(300))
	f.Fuzz(func(t *testing.T, seed uint64, rows uint8, cols uint16) {
		rng := rand.New(rand.NewPCG(seed, 2))
		r, k := int(rows)%40, int(cols)%700
		w := guarded[uint16](t, r*k)
		for i := range w {
			w[i] = uint16(rng.Uint32()) // any bits: NaN, Inf, subnormal
		}
		x := randomF32(t, rng, k)
		want := make([]float32, r)
		matVecF16Generic(want, w, x)
		for _, name := range availableImpls() {
			restore := selectImplementation(name)
			got := make([]float32, r)
			MatVecF16(got, w, x)
			restore()
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(want[i] != want[i] && got[i] != got[i]) {
					t.Fatalf("%s: rows=%d k=%d: dst[%d] = %v, want %v", name, r, k, i, got[i], want[i])
				}
			}
		}
	})
}

// FuzzElementwise reads the input as raw float32 bits (NaNs, infinities,
// signed zeros, subnormals) and checks every tier's element-wise kernels
// against the Go code bit for bit.
func FuzzElementwise(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x80}, float32(0.5))
	f.Add(make([]byte, 4*67), float32(3))
	f.Fuzz(func(t *testing.T, data []byte, r float32) {
		x := make([]float32, len(data)/4)
		for i := range x {
			x[i] = math.Float32frombits(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
		}
		// Two more vectors from the same bits, shifted.
		y := append(append([]float32(nil), x[len(x)/2:]...), x[:len(x)/2]...)
		restore := selectImplementation("generic")
		wantSS := SumSquares(x)
		wantScale := append([]float32(nil), x...)
		ScaleMul(wantScale, wantScale, y, r)
		wantRelu := append([]float32(nil), x...)
		ReLUSqMul(wantRelu, y)
		wantAdd := append([]float32(nil), x...)
		Add(wantAdd, y)
		restore()
		for _, name := range availableImpls() {
			restore := selectImplementation(name)
			ss := SumSquares(x)
			if !(ss != ss && wantSS != wantSS) && math.Float64bits(ss) != math.Float64bits(wantSS) {
				t.Fatalf("%s: SumSquares = %v, want %v", name, ss, wantSS)
			}
			got := append([]float32(nil), x...)
			ScaleMul(got, got, y, r)
			sameBits(t, wantScale, got, name+" ScaleMul")
			got = append(got[:0], x...)
			ReLUSqMul(got, y)
			sameBits(t, wantRelu, got, name+" ReLUSqMul")
			got = append(got[:0], x...)
			Add(got, y)
			sameBits(t, wantAdd, got, name+" Add")
			restore()
		}
	})
}
