// Command i2s generates internal/kernels/i2s_amd64.s and its Go stubs: the
// ternary (I2_S) × int8 kernels of the AVX2 and AVX-512 tiers.
//
// Every kernel computes Σ c·q with the unsigned 2-bit codes c ∈ {0,1,2}
// (c = w+1) and signed int8 activations q, the integer identity of
// shared/KERNELS.md; the caller subtracts Σq. A 32-byte I2_S block holds 128
// codes, byte j holding elements j, j+32, j+64, j+96 in bits 7-6, 5-4, 3-2,
// 1-0, so VPSRLW by 6, 4, 2, 0 and VPAND 0x03 give four vectors of 32
// consecutive codes that line up with 32 consecutive activation bytes.
// VPMADDUBSW (u8 × s8 → pairs summed into s16; |pair| ≤ 512, never
// saturating), VPADDW of the four groups (|sum| ≤ 2048), VPMADDWD with ones
// (→ s32) and VPADDD accumulate.
//
// The AVX-512 kernels load 64 bytes, two blocks, at a time; a code vector
// then holds block b's group g in its low half and block b+1's in its high
// half. The matrix-vector kernel builds the activation vectors in that same
// order (two 32-byte loads); the matrix-matrix kernel instead shuffles the
// unpacked codes (VSHUFI64X2) into element order once and applies them to
// several tokens. An odd last block is done at 256 bits.
package main

//go:generate go run . -out ../../internal/kernels/i2s_amd64.s -stubs ../../internal/kernels/i2s_amd64.go -pkg kernels

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	"github.com/org/bitnet/asm/internal/gen"
)

// Tile sizes, in tokens, of the matrix-matrix kernels: one kernel is
// generated for every tile from 1 to the maximum, so any token count is
// covered by full tiles plus one smaller tile.
const (
	maxTileAVX2   = 8
	maxTileAVX512 = 8
)

func main() {
	ConstraintExpr("gc,!purego")
	avx2.matVec(4, 1)
	for t := 1; t <= maxTileAVX2; t++ {
		avx2.matMul(t)
	}
	avx512.matVec(8, 4, 1)
	for t := 1; t <= maxTileAVX512; t++ {
		avx512.matMul(t)
	}
	avx512vnni.matVecVNNI(4, 1)
	for t := 1; t <= maxTileAVX512; t++ {
		avx512vnni.matMul(t)
	}
	Generate()
}

// isa describes one tier: its register width and the instruction forms that
// differ between VEX (AVX2) and EVEX (AVX-512, where any register may be one
// of Y16-Y31, which VEX-only forms cannot encode).
type isa struct {
	name string // kernel name suffix
	vnni bool   // multiply-accumulate with VPDPBUSD

	// prefetch is how many groups of rows ahead matVec prefetches (0: no
	// software prefetch).
	prefetch int
	bytes    int // bytes per vector register: 32 or 64
	vec      func() VecVirtual
	load     func(m, r Op)            // unaligned load or store, any width
	and      func(a, b, dst Op)       // bitwise AND
	zero     func(r VecVirtual)       // r = 0
	ext      func(imm, y, x Op)       // upper 128 bits of a YMM
	lane     func(x Op, i int, m Mem) // store 32-bit lane i of x to m
}

var avx2 = isa{
	name:     "AVX2",
	bytes:    32,
	prefetch: 2,
	vec:      YMM,
	load:     func(m, r Op) { VMOVDQU(m, r) },
	and:      func(a, b, dst Op) { VPAND(a, b, dst) },
	zero:     func(r VecVirtual) { VPXOR(r, r, r) },
	ext:      func(imm, y, x Op) { VEXTRACTI128(imm, y, x) },
	lane: func(x Op, i int, m Mem) {
		if i == 0 {
			VMOVD(x, m)
		} else {
			VPEXTRD(U8(i), x, m)
		}
	},
}

var avx512 = isa{
	name:     "AVX512",
	bytes:    64,
	prefetch: 2,
	vec:      ZMM,
	load:     func(m, r Op) { VMOVDQU64(m, r) },
	and:      func(a, b, dst Op) { VPANDD(a, b, dst) },
	zero:     func(r VecVirtual) { VPXORD(r, r, r) },
	ext:      func(imm, y, x Op) { VEXTRACTI32X4(imm, y, x) },
	lane: func(x Op, i int, m Mem) {
		// VPEXTRD has EVEX forms only with AVX512DQ.
		if i != 0 {
			t := XMM()
			VPSHUFD(U8(i), x, t)
			x = t
		}
		VMOVD(x, m)
	},
}

// avx512vnni is avx512 with VPDPBUSD (AVX512_VNNI), which multiplies
// unsigned by signed bytes and adds each group of four products to a
// 32-bit lane in one instruction, replacing VPMADDUBSW, VPADDW, VPMADDWD and
// VPADDD. avo v0.5.0 has no VPDPBUSD builder; gen.VPDPBUSD emits it as a raw
// instruction, which the Go assembler knows.
var avx512vnni = func() isa {
	v := avx512
	v.name, v.vnni = "AVX512VNNI", true
	return v
}()

// constants returns the registers holding 0x03 in every byte (the code
// mask) and 1 in every 16-bit lane (for VPMADDWD), at the tier's width.
func (v isa) constants() (mask, ones VecVirtual) {
	if v.vnni {
		return gen.Broadcast32Z(0x03030303), nil // VPDPBUSD needs no ones
	}
	if v.bytes == 64 {
		return gen.Broadcast32Z(0x03030303), gen.Broadcast32Z(0x00010001)
	}
	return gen.Broadcast32Y(0x03030303), gen.Broadcast32Y(0x00010001)
}

// dot emits acc += VPMADDWD(Σ_g VPMADDUBSW(code_g(w), x[g]), ones) for
// one vector w of weight bytes at width vec (YMM or ZMM): the codes of
// group g are (w >> (6−2g)) & 3. x holds the activation operands (registers
// or memory). w is clobbered.
func (v isa) dot(vec func() VecVirtual, w VecVirtual, x [4]Op, acc, mask, ones Op) {
	if v.vnni {
		for g := 0; g < 4; g++ {
			c := w
			if g < 3 {
				c = vec()
				VPSRLW(U8(6-2*g), w, c)
			}
			v.and(mask, c, c)
			gen.VPDPBUSD(x[g], c, acc)
		}
		return
	}
	var s VecVirtual
	for g := 0; g < 4; g++ {
		c := w
		if g < 3 {
			c = vec()
			VPSRLW(U8(6-2*g), w, c)
		}
		v.and(mask, c, c)
		if g == 0 {
			s = c
			VPMADDUBSW(x[g], c, s)
		} else {
			VPMADDUBSW(x[g], c, c)
			VPADDW(c, s, s)
		}
	}
	VPMADDWD(ones, s, s)
	VPADDD(s, acc, acc)
}

// unpack returns the four code vectors of w (w becomes the last one).
func (v isa) unpack(vec func() VecVirtual, w VecVirtual, mask Op) [4]VecVirtual {
	var c [4]VecVirtual
	for g := 0; g < 3; g++ {
		c[g] = vec()
		VPSRLW(U8(6-2*g), w, c[g])
		v.and(mask, c[g], c[g])
	}
	v.and(mask, w, w)
	c[3] = w
	return c
}

// foldZ adds the upper 256 bits of each ZMM accumulator to its lower half,
// leaving the YMM views to be reduced.
func foldZ(acc []VecVirtual) {
	for _, a := range acc {
		t := YMM()
		VEXTRACTI64X4(U8(1), a, t)
		VPADDD(t, a.AsY(), a.AsY())
	}
}

// storeSums reduces the YMM views of acc and stores sum i to the address
// addr(i): four at a time with one Reduce4 where possible.
func (v isa) storeSums(acc []VecVirtual, store func(x VecVirtual, first, n int)) {
	i := 0
	for ; i+4 <= len(acc); i += 4 {
		x := gen.Reduce4([4]VecVirtual{acc[i], acc[i+1], acc[i+2], acc[i+3]}, v.ext)
		store(x, i, 4)
	}
	for ; i < len(acc); i++ {
		store(gen.Reduce1(acc[i], v.ext), i, 1)
	}
}

// asY returns the YMM view of r, or nil for nil.
func asY(r VecVirtual) Op {
	if r == nil {
		return nil
	}
	return r.AsY()
}

func label(format string, a ...any) string { return fmt.Sprintf(format, a...) }
