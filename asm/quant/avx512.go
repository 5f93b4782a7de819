package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	"github.com/org/bitnet/asm/internal/gen"
)

// absMaxAVX512 is absMaxAVX2 at 512 bits: 64 floats per iteration.
func absMaxAVX512() {
	TEXT("absMaxAVX512", NOSPLIT, "func(x []float32) float32")
	Pragma("noescape")
	Doc("absMaxAVX512 returns max |x_j| over j < len(x) &^ 63 (0 if that is empty).",
		"NaNs are skipped, as in quantizeI8Generic.")
	x := Mem{Base: Load(Param("x").Base(), GP64())}
	n := Load(Param("x").Len(), GP64())
	mask := gen.Broadcast32Z(absMask)
	var acc [4]VecVirtual
	for i := range acc {
		acc[i] = ZMM()
		VPXORD(acc[i], acc[i], acc[i])
	}
	SHRQ(U8(6), n)
	JZ(LabelRef("reduce"))

	Label("loop")
	for i := range acc {
		t := ZMM()
		VPANDD(x.Offset(64*i), mask, t) // VANDPS at 512 bits would need AVX512DQ
		VMAXPS(acc[i], t, acc[i])
	}
	ADDQ(U32(256), x.Base)
	DECQ(n)
	JNZ(LabelRef("loop"))

	Label("reduce")
	VMAXPS(acc[1], acc[0], acc[0])
	VMAXPS(acc[3], acc[2], acc[2])
	VMAXPS(acc[2], acc[0], acc[0])
	y := YMM()
	VEXTRACTF64X4(U8(1), acc[0], y)
	VMAXPS(y, acc[0].AsY(), y)
	m := gen.HMaxPSY(y)
	VZEROUPPER()
	Store(m, ReturnIndex(0))
	RET()
}

// quantizeAVX512: 64 values per iteration; VPMOVDB stores the clamped
// int32 lanes as bytes, in order.
func quantizeAVX512() {
	TEXT("quantizeAVX512", NOSPLIT, "func(q []int8, x []float32, scale float32) int32")
	Pragma("noescape")
	Doc("quantizeAVX512 sets q_j = clamp(round_half_even(float32(x_j·scale)), −128, 127)",
		"for j < len(x) &^ 63 and returns the sum of those q_j. len(q) must be at least that.")
	q := Mem{Base: Load(Param("q").Base(), GP64())}
	x := Mem{Base: Load(Param("x").Base(), GP64())}
	n := Load(Param("x").Len(), GP64())
	s := XMM()
	Load(Param("scale"), s)
	scale := ZMM()
	VBROADCASTSS(s, scale)
	lo := gen.Broadcast32Z(0xffffff80) // −128
	hi := gen.Broadcast32Z(127)
	var sum [2]VecVirtual
	for i := range sum {
		sum[i] = ZMM()
		VPXORD(sum[i], sum[i], sum[i])
	}
	SHRQ(U8(6), n)
	JZ(LabelRef("reduce"))

	Label("loop")
	for i := 0; i < 4; i++ {
		v := ZMM()
		VMULPS(x.Offset(64*i), scale, v)
		VCVTPS2DQ(v, v)
		VPMAXSD(lo, v, v)
		VPMINSD(hi, v, v)
		VPADDD(v, sum[i%2], sum[i%2])
		VPMOVDB(v, q.Offset(16*i))
	}
	ADDQ(U32(256), x.Base)
	ADDQ(U32(64), q.Base)
	DECQ(n)
	JNZ(LabelRef("loop"))

	Label("reduce")
	VPADDD(sum[1], sum[0], sum[0])
	y := YMM()
	VEXTRACTI64X4(U8(1), sum[0], y)
	VPADDD(y, sum[0].AsY(), y)
	r := gen.HSumY(y)
	VZEROUPPER()
	Store(r, ReturnIndex(0))
	RET()
}
