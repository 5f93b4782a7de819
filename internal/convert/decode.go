package convert

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/org/bitnet/internal/kernels"
	"github.com/org/bitnet/internal/ternary"
)

// ternarizeBF16 is ternary.FromFloat for bf16 weights (rows×k, row-major,
// little-endian), read in place: the same rule and the same arithmetic,
// without a float32 copy of the tensor. A tensor holding only {−a, 0, +a}
// has scale a; anything else is a master weight: γ = max(mean|W|, 1e-5)
// (the sum in float64, in element order), W_q = clamp(round_half_even(W/γ),
// −1, 1).
func ternarizeBF16(data []byte, rows, k int) (*ternary.Matrix, error) {
	n := rows * k
	if rows <= 0 || k <= 0 || k%ternary.QK != 0 || len(data) != 2*n {
		// Rows that are not whole blocks: the general path.
		w := make([]float32, len(data)/2)
		for i := range w {
			w[i] = kernels.BF16ToF32(binary.LittleEndian.Uint16(data[2*i:]))
		}
		return ternary.FromFloat(w, rows, k)
	}
	var a uint16 // |first nonzero| as bf16 bits
	isTernary := true
	var sum float64
	for i := 0; i < n; i++ {
		h := binary.LittleEndian.Uint16(data[2*i:]) &^ 0x8000
		if h >= 0x7f80 {
			return nil, fmt.Errorf("%w: weight %v", ternary.ErrFormat, kernels.BF16ToF32(h))
		}
		sum += float64(kernels.BF16ToF32(h))
		if h != 0 {
			if a == 0 {
				a = h
			} else if h != a {
				isTernary = false
			}
		}
	}
	m := &ternary.Matrix{Rows: rows, K: k, KP: k, Data: make([]byte, n/4)}
	var code func(v float32) byte
	if isTernary {
		m.Scale = kernels.BF16ToF32(a)
		code = func(v float32) byte {
			switch {
			case v > 0:
				return 2
			case v < 0:
				return 0
			}
			return 1
		}
	} else {
		gamma := max(float32(sum/float64(n)), 1e-5)
		m.Scale = gamma
		code = func(v float32) byte {
			q := math.RoundToEven(float64(v / gamma))
			return byte(max(-1, min(1, q)) + 1)
		}
	}
	// The flattened tensor is whole 128-weight blocks: byte g of block b
	// holds weights 128b+g, +32, +64, +96 from the high bits down.
	for b := 0; b < n/ternary.QK; b++ {
		src := data[256*b : 256*b+256]
		dst := m.Data[32*b : 32*b+32]
		for g := range dst {
			c := func(j int) byte { return code(kernels.BF16ToF32(binary.LittleEndian.Uint16(src[2*j:]))) }
			dst[g] = c(g)<<6 | c(g+32)<<4 | c(g+64)<<2 | c(g+96)
		}
	}
	return m, nil
}
