// Package ternary turns the ternary weight formats of GGUF files (I2_S,
// TQ1_0, TQ2_0 and float tensors holding ternary or master weights) into the
// one layout the kernels consume: I2_S rows.
//
// A Matrix row of K weights is stored as KP/4 bytes (KP = K rounded up to a
// multiple of 128) of 2-bit codes c = w+1 in bitnet.cpp's 128/32 block
// layout; padding codes are 1 (weight 0). The weight value is (c−1)·scale,
// with one scale per matrix or, for TQ files whose blocks disagree, one
// scale per 256-weight block.
package ternary

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/org/bitnet/internal/gguf"
	"github.com/org/bitnet/internal/kernels"
)

// QK is the number of weights in one I2_S block.
const QK = 128

// TQBlock is the number of weights in a TQ1_0/TQ2_0 block (and in one
// entry of BlockScales).
const TQBlock = 256

// ErrFormat is wrapped by errors about malformed tensor data.
var ErrFormat = errors.New("malformed ternary tensor")

// ErrType is wrapped by errors about a tensor type that cannot hold
// ternary weights.
var ErrType = errors.New("not a ternary tensor type")

// FromGGUF decodes a GGUF tensor of rows×k weights (ne = k, rows) by its
// type: I2_S, TQ2_0, TQ1_0, or F32, F16 and BF16 through FromFloat. Any
// other type gives an error wrapping ErrType.
func FromGGUF(typ gguf.TensorType, data []byte, rows, k int) (*Matrix, error) {
	switch typ {
	case gguf.I2_S:
		return FromI2S(data, rows, k)
	case gguf.TQ2_0:
		return FromTQ2(data, rows, k)
	case gguf.TQ1_0:
		return FromTQ1(data, rows, k)
	case gguf.F32, gguf.F16, gguf.BF16:
		n := rows * k
		if size, ok := typ.Size(uint64(n)); !ok || uint64(len(data)) != size {
			return nil, fmt.Errorf("%w: %v %d×%d needs %d bytes, have %d", ErrFormat, typ, rows, k, size, len(data))
		}
		w := make([]float32, n)
		le := binary.LittleEndian
		for i := range w {
			switch typ {
			case gguf.F32:
				w[i] = math.Float32frombits(le.Uint32(data[4*i:]))
			case gguf.F16:
				w[i] = kernels.F16ToF32(le.Uint16(data[2*i:]))
			default:
				w[i] = math.Float32frombits(uint32(le.Uint16(data[2*i:])) << 16)
			}
		}
		return FromFloat(w, rows, k)
	}
	return nil, fmt.Errorf("%w: %v", ErrType, typ)
}

// Matrix is a ternary weight matrix of Rows output features by K inputs.
type Matrix struct {
	Rows, K int
	KP      int     // K rounded up to a multiple of QK: the row length in codes
	Data    []byte  // Rows·KP/4 bytes of I2_S codes
	Scale   float32 // the weight scale γ when BlockScales is nil
	// BlockScales, when not nil, holds one scale per TQBlock weights of each
	// row: Rows·K/TQBlock values, row-major. Scale is then unused.
	BlockScales []float32
	// InPlace reports that Data is a view of the file rather than a copy.
	InPlace bool
}

// RowBytes is the byte length of one row of codes.
func (m *Matrix) RowBytes() int { return m.KP / 4 }

// Code returns the code (0, 1 or 2) of weight (r, j).
func (m *Matrix) Code(r, j int) int {
	b := m.Data[r*m.RowBytes()+j/QK*32+j%32]
	return int(b>>(6-2*(j%QK/32))) & 3
}

// Weight returns the dequantized weight (r, j).
func (m *Matrix) Weight(r, j int) float32 {
	s := m.Scale
	if m.BlockScales != nil {
		s = m.BlockScales[r*(m.K/TQBlock)+j/TQBlock]
	}
	return float32(m.Code(r, j)-1) * s
}

func padK(k int) int { return (k + QK - 1) / QK * QK }

// builder fills a fresh padded matrix code by code.
type builder struct{ m *Matrix }

func newBuilder(rows, k int) builder {
	m := &Matrix{Rows: rows, K: k, KP: padK(k)}
	m.Data = make([]byte, rows*m.KP/4)
	for i := range m.Data {
		m.Data[i] = 0x55 // code 1 (weight 0) everywhere
	}
	return builder{m}
}

// set stores code c (0..2) at (r, j).
func (b builder) set(r, j int, c byte) {
	i := r*b.m.RowBytes() + j/QK*32 + j%32
	sh := 6 - 2*(j%QK/32)
	b.m.Data[i] = b.m.Data[i]&^(3<<sh) | c<<sh
}

// FromI2S reads an I2_S tensor of rows×k weights: n/4 bytes of codes in
// 128-weight blocks over the flattened tensor, then a 32-byte tail whose
// first 4 bytes are the f32 scale. Code 3 is decoded as 0 (weight 0). When
// k is a multiple of 128 and no code 3 occurs, the Matrix uses data in place.
func FromI2S(data []byte, rows, k int) (*Matrix, error) {
	n := rows * k
	if k <= 0 || rows <= 0 || n%QK != 0 {
		return nil, fmt.Errorf("%w: I2_S needs whole 128-weight blocks, %d×%d has %d weights", ErrFormat, rows, k, n)
	}
	if len(data) != n/4+32 {
		return nil, fmt.Errorf("%w: I2_S %d×%d needs %d bytes, have %d", ErrFormat, rows, k, n/4+32, len(data))
	}
	scale := math.Float32frombits(binary.LittleEndian.Uint32(data[n/4:]))
	if math.IsNaN(float64(scale)) || math.IsInf(float64(scale), 0) {
		return nil, fmt.Errorf("%w: I2_S scale is %v", ErrFormat, scale)
	}
	codes := data[: n/4 : n/4]
	if k%QK == 0 && !HasCode3(codes) {
		return &Matrix{Rows: rows, K: k, KP: k, Data: codes, Scale: scale, InPlace: true}, nil
	}
	b := newBuilder(rows, k)
	for e := 0; e < n; e++ {
		c := codes[e/QK*32+e%32] >> (6 - 2*(e%QK/32)) & 3
		if c == 3 {
			c = 1
		}
		b.set(e/k, e%k, c)
	}
	b.m.Scale = scale
	return b.m, nil
}

// HasCode3 reports whether any 2-bit field of data is 3.
func HasCode3(data []byte) bool {
	i := 0
	for ; i+8 <= len(data); i += 8 {
		v := binary.LittleEndian.Uint64(data[i:])
		if v&(v>>1)&0x5555555555555555 != 0 {
			return true
		}
	}
	for ; i < len(data); i++ {
		if v := data[i]; v&(v>>1)&0x55 != 0 {
			return true
		}
	}
	return false
}

// fromTQ decodes TQ1_0 or TQ2_0 data block by block: decode writes the 64
// I2_S bytes of one 256-weight block (two whole I2_S blocks of its row, k
// being a multiple of 256) and returns the block's f16 scale bits.
func fromTQ(data []byte, rows, k, blockBytes int, decode func(dst, blk []byte) uint16) (*Matrix, error) {
	if k <= 0 || rows <= 0 || k%TQBlock != 0 {
		return nil, fmt.Errorf("%w: row length %d is not a multiple of %d", ErrFormat, k, TQBlock)
	}
	nb := rows * k / TQBlock
	if len(data) != nb*blockBytes {
		return nil, fmt.Errorf("%w: %d×%d needs %d bytes, have %d", ErrFormat, rows, k, nb*blockBytes, len(data))
	}
	m := &Matrix{Rows: rows, K: k, KP: k, Data: make([]byte, rows*k/4)}
	scales := make([]float32, nb)
	uniform := true
	for i := 0; i < nb; i++ {
		d := decode(m.Data[i*64:(i+1)*64], data[i*blockBytes:(i+1)*blockBytes])
		scales[i] = kernels.F16ToF32(d)
		if math.IsNaN(float64(scales[i])) || math.IsInf(float64(scales[i]), 0) {
			return nil, fmt.Errorf("%w: block %d has scale %v", ErrFormat, i, scales[i])
		}
		uniform = uniform && scales[i] == scales[0]
	}
	// Code 3 (not ternary) reads as 1, weight 0.
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

// Rev2 reverses the four 2-bit fields of a byte (it is its own inverse). TQ2_0 byte j of a block
// holds weights 128·(j/32) + 32·l + j%32 in bit pair l, least significant
// first; I2_S byte j%32 of block j/32 holds the same four weights, most
// significant first.
var Rev2 = func() (t [256]byte) {
	for b := range t {
		t[b] = byte(b)<<6 | byte(b)>>6 | byte(b)&0x0c<<2 | byte(b)&0x30>>2
	}
	return t
}()

// FromTQ2 reads a TQ2_0 tensor: 66-byte blocks of 256 weights, qs[64] then
// an f16 scale; byte j holds weights 128·(j/32) + 32·l + j%32 for bit pairs
// l = 0..3, least significant first.
func FromTQ2(data []byte, rows, k int) (*Matrix, error) {
	return fromTQ(data, rows, k, 66, func(dst, blk []byte) uint16 {
		for j, b := range blk[:64] {
			dst[j] = Rev2[b]
		}
		return binary.LittleEndian.Uint16(blk[64:])
	})
}

var pow3 = [5]uint8{1, 3, 9, 27, 81}

// trit extracts base-3 digit n of a TQ1_0 byte.
func trit(b byte, n int) byte {
	t := b * pow3[n] // uint8 wrap-around is intended
	return byte((uint16(t) * 3) >> 8)
}

// TQ1Codes decodes the 256 codes (trits 0..2) of a TQ1_0 block: qs[48]
// (5 trits a byte), qh[4] (4 trits a byte), then the f16 scale, whose bits
// it returns (FORMATS.md §3d).
func TQ1Codes(codes *[TQBlock]byte, blk []byte) uint16 {
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
	return binary.LittleEndian.Uint16(blk[52:])
}

// PackI2S packs 256 codes into two I2_S blocks of 32 bytes.
func PackI2S(dst []byte, codes *[TQBlock]byte) {
	for h := 0; h < 2; h++ {
		c := codes[QK*h : QK*h+QK]
		d := dst[32*h : 32*h+32]
		for g := range d {
			d[g] = c[g]<<6 | c[g+32]<<4 | c[g+64]<<2 | c[g+96]
		}
	}
}

// FromTQ1 reads a TQ1_0 tensor: 54-byte blocks of 256 weights, qs[48],
// qh[4], then an f16 scale; bytes hold base-3 digits scaled by 256/243.
func FromTQ1(data []byte, rows, k int) (*Matrix, error) {
	var codes [TQBlock]byte
	return fromTQ(data, rows, k, 54, func(dst, blk []byte) uint16 {
		d := TQ1Codes(&codes, blk)
		PackI2S(dst, &codes)
		return d
	})
}

// FromFloat turns float weights (rows×k, row-major) into a ternary matrix.
// A tensor holding only {−a, 0, +a} is ternary with scale a; anything else is
// a master weight, quantized as BitNet does (absmean): γ = max(mean|W|, 1e-5)
// in f32, W_q = clamp(round_half_even(W/γ), −1, 1).
func FromFloat(w []float32, rows, k int) (*Matrix, error) {
	if rows <= 0 || k <= 0 || len(w) != rows*k {
		return nil, fmt.Errorf("%w: %d values for %d×%d", ErrFormat, len(w), rows, k)
	}
	var a float32
	ternary := true
	var sum float64
	for _, v := range w {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w: weight %v", ErrFormat, v)
		}
		av := abs32(v)
		sum += float64(av)
		if av != 0 {
			if a == 0 {
				a = av
			} else if av != a {
				ternary = false
			}
		}
	}
	b := newBuilder(rows, k)
	if ternary {
		b.m.Scale = a
		for i, v := range w {
			switch {
			case v > 0:
				b.set(i/k, i%k, 2)
			case v < 0:
				b.set(i/k, i%k, 0)
			}
		}
		return b.m, nil
	}
	gamma := max(float32(sum/float64(len(w))), 1e-5)
	b.m.Scale = gamma
	for i, v := range w {
		q := math.RoundToEven(float64(v / gamma))
		q = max(-1, min(1, q))
		b.set(i/k, i%k, byte(q+1))
	}
	return b.m, nil
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
