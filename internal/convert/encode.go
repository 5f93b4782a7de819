package convert

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/org/bitnet/internal/gguf"
	"github.com/org/bitnet/internal/ternary"
	"github.com/x448/float16"
)

// f32ToF16 rounds to the nearest half (ties to even), as ggml's
// GGML_FP32_TO_FP16 does.
func f32ToF16(x float32) uint16 { return float16.Fromfloat32(x).Bits() }

// ternarySize returns the byte size of a rows×cols projection in typ.
func ternarySize(typ gguf.TensorType, rows, cols int) uint64 {
	n, _ := typ.Size(uint64(rows) * uint64(cols))
	return n
}

// checkTernaryShape reports whether typ can hold rows×cols weights.
func checkTernaryShape(typ gguf.TensorType, name string, rows, cols int) error {
	switch typ {
	case gguf.TQ1_0, gguf.TQ2_0:
		if cols%ternary.TQBlock != 0 {
			return unsupported("tensor %s: rows of %d weights are not whole %d-weight %v blocks", name, cols, ternary.TQBlock, typ)
		}
	case gguf.I2_S:
		if cols%ternary.QK != 0 {
			return unsupported("tensor %s: rows of %d weights are not whole %d-weight I2_S blocks", name, cols, ternary.QK)
		}
	}
	return nil
}

// encodeTernary returns m encoded as typ (I2_S, TQ2_0 or TQ1_0). The rows
// of m must be whole blocks of the type (checkTernaryShape).
func encodeTernary(typ gguf.TensorType, name string, m *ternary.Matrix) ([]byte, error) {
	if m.KP != m.K {
		return nil, unsupported("tensor %s: rows of %d weights are not whole blocks", name, m.K)
	}
	switch typ {
	case gguf.I2_S:
		return encodeI2S(name, m)
	case gguf.TQ2_0:
		return encodeTQ(m, 66, tq2Block), nil
	case gguf.TQ1_0:
		return encodeTQ(m, 54, tq1Block), nil
	}
	return nil, unsupported("tensor %s: output type %v", name, typ)
}

// encodeI2S writes the codes of m (already in I2_S's 128/32 block layout,
// row after row, which is the layout of the flattened tensor when rows are
// whole blocks), then the 32-byte tail: the f32 scale and 28 zero bytes, as
// bitnet.cpp's quantizer and the official file have it.
func encodeI2S(name string, m *ternary.Matrix) ([]byte, error) {
	if m.BlockScales != nil {
		return nil, unsupported("tensor %s: its 256-weight blocks have different scales; I2_S holds one scale per tensor", name)
	}
	out := make([]byte, len(m.Data)+32)
	copy(out, m.Data)
	binary.LittleEndian.PutUint32(out[len(m.Data):], math.Float32bits(m.Scale))
	return out, nil
}

// blockScale returns the scale of 256-weight block b of row r.
func blockScale(m *ternary.Matrix, r, b int) float32 {
	if m.BlockScales != nil {
		return m.BlockScales[r*(m.K/ternary.TQBlock)+b]
	}
	return m.Scale
}

// encodeTQ encodes m block by block: enc fills one block (blockBytes long)
// from the 64 I2_S bytes of its 256 weights; the f16 scale d goes in the
// last two bytes. Every block of a tensor gets the tensor's scale (FORMATS.md
// §3d: d = γ), also a block of zeros, where llama.cpp's quantizer would
// write d = 0: the weights are the same, and readers keep one scale per
// tensor.
func encodeTQ(m *ternary.Matrix, blockBytes int, enc func(dst, src []byte)) []byte {
	nb := m.K / ternary.TQBlock
	rb := m.RowBytes()
	out := make([]byte, m.Rows*nb*blockBytes)
	for r := 0; r < m.Rows; r++ {
		row := m.Data[r*rb : (r+1)*rb]
		for b := 0; b < nb; b++ {
			dst := out[(r*nb+b)*blockBytes : (r*nb+b+1)*blockBytes]
			enc(dst, row[b*64:(b+1)*64])
			binary.LittleEndian.PutUint16(dst[blockBytes-2:], f32ToF16(blockScale(m, r, b)))
		}
	}
	return out
}

// tq2Block writes the 64 code bytes of a TQ2_0 block: byte j holds weights
// 128·(j/32) + 32·l + j%32 in bits 2l (FORMATS.md §3d).
func tq2Block(dst, src []byte) {
	for j := 0; j < 64; j++ {
		dst[j] = ternary.Rev2[src[j]]
	}
}

// i2sCodes unpacks the 256 codes of two consecutive I2_S blocks.
func i2sCodes(codes *[ternary.TQBlock]byte, src []byte) {
	for h := 0; h < 2; h++ {
		s := src[32*h : 32*h+32]
		c := codes[128*h : 128*h+128]
		for g, b := range s {
			c[g] = b >> 6 & 3
			c[g+32] = b >> 4 & 3
			c[g+64] = b >> 2 & 3
			c[g+96] = b & 3
		}
	}
}

// tq1Byte packs base-3 digits (most significant first) as llama.cpp's
// quantize_row_tq1_0_ref does: the byte is ceil(v·256/243).
func tq1Byte(v int) byte { return byte((v*256 + 242) / 243) }

// tq1Block writes qs[48] and qh[4] of a TQ1_0 block exactly as llama.cpp's
// quantizer: qs[m] (m < 32) holds weights m + 32n, qs[32+m] (m < 16) holds
// 160 + m + 16n, for digits n = 0..4; qh[j] holds 240 + j + 4n for n = 0..3
// and a fifth zero digit.
func tq1Block(dst, src []byte) {
	var codes [ternary.TQBlock]byte
	i2sCodes(&codes, src)
	for m := 0; m < 32; m++ {
		v := 0
		for n := 0; n < 5; n++ {
			v = v*3 + int(codes[m+32*n])
		}
		dst[m] = tq1Byte(v)
	}
	for m := 0; m < 16; m++ {
		v := 0
		for n := 0; n < 5; n++ {
			v = v*3 + int(codes[160+m+16*n])
		}
		dst[32+m] = tq1Byte(v)
	}
	for j := 0; j < 4; j++ {
		v := 0
		for n := 0; n < 4; n++ {
			v = v*3 + int(codes[240+j+4*n])
		}
		dst[48+j] = tq1Byte(v * 3)
	}
}

// writeF16 streams a float matrix as F16 (copying F16 data as it is).
// A value outside the F16 range, or NaN, is an error.
func writeF16(w io.Writer, name string, t FloatTensor) error {
	n := t.Rows * t.Cols
	if t.Type == gguf.F16 {
		for data := t.Data[:2*n]; len(data) > 0; {
			c := min(len(data), 1<<22)
			if err := writeChunks(w, data[:c]); err != nil {
				return err
			}
			release(data[:c])
			data = data[c:]
		}
		return nil
	}
	size := 2
	if t.Type == gguf.F32 {
		size = 4
	}
	released := 0 // input bytes given back so far
	const chunk = 1 << 15
	buf := make([]byte, 2*chunk)
	le := binary.LittleEndian
	var tmp [chunk]float32
	for i := 0; i < n; i += chunk {
		c := min(chunk, n-i)
		src := tmp[:c]
		switch t.Type {
		case gguf.BF16:
			d := t.Data[2*i : 2*(i+c)]
			for j := range src {
				src[j] = math.Float32frombits(uint32(le.Uint16(d[2*j:])) << 16)
			}
		default:
			toFloat32(src, t.Type, t.Data[4*i:4*(i+c)])
		}
		for j, x := range src {
			h := f32ToF16(x)
			if h&0x7c00 == 0x7c00 {
				return unsupported("tensor %s: value %v at element %d does not fit F16", name, x, i+j)
			}
			le.PutUint16(buf[2*j:], h)
		}
		if _, err := w.Write(buf[:2*c]); err != nil {
			return err
		}
		if done := (i + c) * size; done-released >= 1<<22 || i+c == n {
			release(t.Data[released:done])
			released = done
		}
	}
	return nil
}

// writeChunks writes data in 1 MiB pieces, so that progress is reported
// smoothly.
func writeChunks(w io.Writer, data []byte) error {
	for len(data) > 0 {
		c := min(len(data), 1<<20)
		if _, err := w.Write(data[:c]); err != nil {
			return err
		}
		data = data[c:]
	}
	return nil
}

// f32Bytes encodes v as little-endian F32.
func f32Bytes(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}

// errWrite marks an error of the output, as opposed to the input.
func errWrite(path string, err error) error { return fmt.Errorf("bitnet: writing %s: %w", path, err) }
