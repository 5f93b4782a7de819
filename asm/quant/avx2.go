package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	"github.com/org/bitnet/asm/internal/gen"
)

const absMask = 0x7fffffff // clears the sign bit of a float32

// absMaxAVX2: four independent VMAXPS chains over 32 floats per iteration.
func absMaxAVX2() {
	TEXT("absMaxAVX2", NOSPLIT, "func(x []float32) float32")
	Pragma("noescape")
	Doc("absMaxAVX2 returns max |x_j| over j < len(x) &^ 31 (0 if that is empty).",
		"NaNs are skipped, as in quantizeI8Generic.")
	x := Mem{Base: Load(Param("x").Base(), GP64())}
	n := Load(Param("x").Len(), GP64())
	mask := gen.Broadcast32Y(absMask)
	var acc [4]VecVirtual
	for i := range acc {
		acc[i] = YMM()
		VPXOR(acc[i], acc[i], acc[i])
	}
	SHRQ(U8(5), n)
	JZ(LabelRef("reduce"))

	Label("loop")
	for i := range acc {
		t := YMM()
		VANDPS(x.Offset(32*i), mask, t)
		// VMAXPS keeps its second source (here acc) when either is NaN.
		VMAXPS(acc[i], t, acc[i])
	}
	ADDQ(U32(128), x.Base)
	DECQ(n)
	JNZ(LabelRef("loop"))

	Label("reduce")
	VMAXPS(acc[1], acc[0], acc[0])
	VMAXPS(acc[3], acc[2], acc[2])
	VMAXPS(acc[2], acc[0], acc[0])
	m := gen.HMaxPSY(acc[0])
	VZEROUPPER()
	Store(m, ReturnIndex(0))
	RET()
}

// quantizeAVX2: 32 values per iteration: multiply, convert with the current
// rounding mode (round half to even), clamp, sum, pack to bytes.
func quantizeAVX2() {
	TEXT("quantizeAVX2", NOSPLIT, "func(q []int8, x []float32, scale float32) int32")
	Pragma("noescape")
	Doc("quantizeAVX2 sets q_j = clamp(round_half_even(float32(x_j·scale)), −128, 127)",
		"for j < len(x) &^ 31 and returns the sum of those q_j. len(q) must be at least that.")
	q := Mem{Base: Load(Param("q").Base(), GP64())}
	x := Mem{Base: Load(Param("x").Base(), GP64())}
	n := Load(Param("x").Len(), GP64())
	s := XMM()
	Load(Param("scale"), s)
	scale := YMM()
	VBROADCASTSS(s, scale)
	lo := gen.Broadcast32Y(0xffffff80) // −128
	hi := gen.Broadcast32Y(127)
	// After VPACKSSDW and VPACKSSWB, which work within 128-bit lanes, the
	// dwords hold values 0-3, 8-11, 16-19, 24-27, 4-7, 12-15, 20-23, 28-31.
	perm := gen.Bytes32Y(0x0703060205010400)
	sum := YMM()
	VPXOR(sum, sum, sum)
	SHRQ(U8(5), n)
	JZ(LabelRef("reduce"))

	Label("loop")
	var v [4]VecVirtual
	for i := range v {
		v[i] = YMM()
		VMULPS(x.Offset(32*i), scale, v[i])
		VCVTPS2DQ(v[i], v[i])
		VPMAXSD(lo, v[i], v[i])
		VPMINSD(hi, v[i], v[i])
		VPADDD(v[i], sum, sum)
	}
	VPACKSSDW(v[1], v[0], v[0])
	VPACKSSDW(v[3], v[2], v[2])
	VPACKSSWB(v[2], v[0], v[0])
	VPERMD(v[0], perm, v[0])
	VMOVDQU(v[0], q)
	ADDQ(U32(128), x.Base)
	ADDQ(U32(32), q.Base)
	DECQ(n)
	JNZ(LabelRef("loop"))

	Label("reduce")
	r := gen.HSumY(sum)
	VZEROUPPER()
	Store(r, ReturnIndex(0))
	RET()
}
