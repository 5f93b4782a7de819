// Package gen holds emitters shared by the kernel generators: constants
// built in registers (no DATA sections) and horizontal reductions.
package gen

import (
	"github.com/mmcloughlin/avo/ir"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Broadcast32Y fills every 32-bit lane of a new YMM register with v.
func Broadcast32Y(v uint32) VecVirtual {
	r := GP32()
	MOVL(U32(v), r)
	x := XMM()
	VMOVD(r, x)
	y := YMM()
	VPBROADCASTD(x, y)
	return y
}

// Broadcast32Z fills every 32-bit lane of a new ZMM register with v.
func Broadcast32Z(v uint32) VecVirtual {
	r := GP32()
	MOVL(U32(v), r)
	z := ZMM()
	VPBROADCASTD(r, z)
	return z
}

// Bytes32Y returns a YMM register whose 32-bit lanes hold the bytes of v,
// lane i = byte i (zero-extended): a small index vector such as a VPERMD
// control, built without a DATA section.
func Bytes32Y(v uint64) VecVirtual {
	r := GP64()
	MOVQ(U64(v), r)
	x := XMM()
	VMOVQ(r, x)
	y := YMM()
	VPMOVZXBD(x, y)
	return y
}

// HSumY returns the sum of the eight int32 lanes of y in a new GP register;
// y is clobbered.
func HSumY(y VecVirtual) GPVirtual {
	x := XMM()
	VEXTRACTI128(U8(1), y, x)
	VPADDD(x, y.AsX(), x)
	t := XMM()
	VPSHUFD(U8(0x4e), x, t) // swap the 64-bit halves
	VPADDD(t, x, x)
	VPSHUFD(U8(0xb1), x, t) // swap the 32-bit halves of each 64
	VPADDD(t, x, x)
	r := GP32()
	VMOVD(x, r)
	return r
}

// HMaxPSY returns the largest float32 lane of y in the low lane of a new XMM
// register (lanes are assumed not NaN); y is clobbered.
func HMaxPSY(y VecVirtual) VecVirtual {
	x := XMM()
	VEXTRACTF128(U8(1), y, x)
	VMAXPS(x, y.AsX(), x)
	t := XMM()
	VPERMILPS(U8(0x4e), x, t)
	VMAXPS(t, x, x)
	VPERMILPS(U8(0xb1), x, t)
	VMAXPS(t, x, x)
	return x
}

// HSum4Y adds up each of four YMM int32 accumulators and returns the four
// sums, in order, in the lanes of an XMM register; the inputs are clobbered.
func HSum4Y(a [4]VecVirtual) VecVirtual {
	VPHADDD(a[1], a[0], a[0]) // lane-wise [a0 a0 a1 a1 | a0 a0 a1 a1]
	VPHADDD(a[3], a[2], a[2])
	VPHADDD(a[2], a[0], a[0]) // [a0 a1 a2 a3 | a0 a1 a2 a3]
	x := XMM()
	VEXTRACTI128(U8(1), a[0], x)
	VPADDD(x, a[0].AsX(), x)
	return x
}

// Reduce4 adds up each of four int32 accumulators (the YMM view of YMM
// or ZMM registers; fold ZMM ones first) and returns the four sums, in
// order, in the lanes of an XMM register; the inputs are clobbered. It uses
// only instructions with EVEX forms, so it works on Y16-Y31 too; extract is
// VEXTRACTI128 (AVX2) or VEXTRACTI32X4 (AVX-512).
func Reduce4(a [4]VecVirtual, extract func(imm, y, x Op)) VecVirtual {
	a0, a1, a2, a3 := a[0].AsY(), a[1].AsY(), a[2].AsY(), a[3].AsY()
	t0, t1 := YMM(), YMM()
	VPUNPCKLDQ(a1, a0, t0) // a0₀ a1₀ a0₁ a1₁ | a0₄ a1₄ a0₅ a1₅
	VPUNPCKHDQ(a1, a0, t1) // a0₂ a1₂ a0₃ a1₃ | a0₆ a1₆ a0₇ a1₇
	VPADDD(t1, t0, a0)     // a0 a1 a0 a1 (partial sums)
	VPUNPCKLDQ(a3, a2, t0)
	VPUNPCKHDQ(a3, a2, t1)
	VPADDD(t1, t0, a2)      // a2 a3 a2 a3
	VPUNPCKLQDQ(a2, a0, t0) // a0 a1 a2 a3
	VPUNPCKHQDQ(a2, a0, t1) // a0 a1 a2 a3
	VPADDD(t1, t0, t0)      // per 128-bit lane
	x := XMM()
	extract(U8(1), t0, x)
	VPADDD(x, t0.AsX(), x)
	return x
}

// Reduce1 returns the sum of the eight int32 lanes of the YMM view of y in
// the low lane of an XMM register; y is clobbered. Like Reduce4 it avoids
// VEX-only forms.
func Reduce1(y VecVirtual, extract func(imm, y, x Op)) VecVirtual {
	x := XMM()
	extract(U8(1), y.AsY(), x)
	VPADDD(x, y.AsX(), x)
	t := XMM()
	VPSHUFD(U8(0x4e), x, t)
	VPADDD(t, x, x)
	VPSHUFD(U8(0xb1), x, t)
	VPADDD(t, x, x)
	return x
}

// Stride4 addresses item i = 0..3 of a sequence of equally spaced items
// (rows of a matrix, tokens): base + i·step + off, using the registers step
// and step3 = 3·step (nil when i < 3).
func Stride4(base, step, step3 Register, i int, off int) Mem {
	m := Mem{Base: base, Disp: off}
	switch i {
	case 1:
		m.Index, m.Scale = step, 1
	case 2:
		m.Index, m.Scale = step, 2
	case 3:
		m.Index, m.Scale = step3, 1
	}
	return m
}

// VPDPBUSD emits acc += Σ4 u8(u)·s8(s) per 32-bit lane (AVX512_VNNI; Intel
// operand order VPDPBUSD acc, u, s; Go order s, u, acc). s may be a memory
// operand. avo v0.5.0 has no builder for it, so it is emitted as a raw
// instruction, which the Go assembler knows.
func VPDPBUSD(s, u, acc Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPDPBUSD",
		Operands: []Op{s, u, acc},
		Inputs:   []Op{s, u, acc},
		Outputs:  []Op{acc},
		ISA:      []string{"AVX512_VNNI", "AVX512VL"},
	})
}
