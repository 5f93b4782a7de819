package convert

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/org/bitnet/internal/ternary"
)

// decodeTQ reads TQ2_0 or TQ1_0 data straight into I2_S rows, a whole
// block at a time; it gives what ternary.FromTQ2 and FromTQ1 give (code 3
// read as 0, one Scale when all blocks agree, BlockScales otherwise), with
// less work per weight, which matters for full-size conversions.
func decodeTQ(data []byte, rows, k int, tq1 bool) (*ternary.Matrix, error) {
	bb := 66
	if tq1 {
		bb = 54
	}
	if rows <= 0 || k <= 0 || k%ternary.TQBlock != 0 {
		return nil, fmt.Errorf("%w: row length %d is not a multiple of %d", ternary.ErrFormat, k, ternary.TQBlock)
	}
	nb := rows * k / ternary.TQBlock
	if len(data) != nb*bb {
		return nil, fmt.Errorf("%w: %d×%d needs %d bytes, have %d", ternary.ErrFormat, rows, k, nb*bb, len(data))
	}
	m := &ternary.Matrix{Rows: rows, K: k, KP: k, Data: make([]byte, rows*k/4)}
	scales := make([]float32, nb)
	uniform := true
	var codes [ternary.TQBlock]byte
	for i := 0; i < nb; i++ {
		blk := data[i*bb : (i+1)*bb]
		dst := m.Data[i*64 : (i+1)*64]
		if tq1 {
			tq1Codes(&codes, blk)
			packI2S(dst, &codes)
		} else {
			for j, b := range blk[:64] {
				dst[j] = rev2[b]
			}
		}
		s := f16ToF32(binary.LittleEndian.Uint16(blk[bb-2:]))
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("%w: block %d has scale %v", ternary.ErrFormat, i, s)
		}
		scales[i] = s
		uniform = uniform && s == scales[0]
	}
	// Code 3 (not ternary) reads as 1 (weight 0), as in ternary.FromTQ*.
	for i, b := range m.Data {
		if c3 := b & (b >> 1) & 0x55; c3 != 0 {
			m.Data[i] = b &^ (c3 << 1)
		}
	}
	if uniform {
		m.Scale = scales[0]
	} else {
		m.BlockScales = scales
	}
	return m, nil
}

// tq1Codes decodes the 256 codes of a TQ1_0 block (FORMATS.md §3d).
func tq1Codes(codes *[ternary.TQBlock]byte, blk []byte) {
	trit := func(b byte, n int) byte {
		t := b * [5]byte{1, 3, 9, 27, 81}[n] // uint8 wrap-around is intended
		return byte(uint16(t) * 3 >> 8)
	}
	for m := 0; m < 32; m++ {
		for n := 0; n < 5; n++ {
			codes[n*32+m] = trit(blk[m], n)
		}
	}
	for m := 0; m < 16; m++ {
		for n := 0; n < 5; n++ {
			codes[160+n*16+m] = trit(blk[32+m], n)
		}
	}
	for j := 0; j < 4; j++ {
		for n := 0; n < 4; n++ {
			codes[240+n*4+j] = trit(blk[48+j], n)
		}
	}
}

// packI2S packs 256 codes into two I2_S blocks of 32 bytes.
func packI2S(dst []byte, codes *[ternary.TQBlock]byte) {
	for h := 0; h < 2; h++ {
		c := codes[128*h : 128*h+128]
		d := dst[32*h : 32*h+32]
		for g := range d {
			d[g] = c[g]<<6 | c[g+32]<<4 | c[g+64]<<2 | c[g+96]
		}
	}
}

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
			w[i] = bf16ToF32(binary.LittleEndian.Uint16(data[2*i:]))
		}
		return ternary.FromFloat(w, rows, k)
	}
	var a uint16 // |first nonzero| as bf16 bits
	isTernary := true
	var sum float64
	for i := 0; i < n; i++ {
		h := binary.LittleEndian.Uint16(data[2*i:]) &^ 0x8000
		if h >= 0x7f80 {
			return nil, fmt.Errorf("%w: weight %v", ternary.ErrFormat, bf16ToF32(h))
		}
		sum += float64(bf16ToF32(h))
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
		m.Scale = bf16ToF32(a)
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
			c := func(j int) byte { return code(bf16ToF32(binary.LittleEndian.Uint16(src[2*j:]))) }
			dst[g] = c(g)<<6 | c(g+32)<<4 | c(g+64)<<2 | c(g+96)
		}
	}
	return m, nil
}

func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }
