// Command q8 generates internal/kernels/q8_amd64.s and its Go stubs: the
// kernel of the opt-in int8 output matrix, with AVX-512 VNNI.
//
// The output matrix is int8 with one scale per row; the activation vector
// is quantized to 16 bits, q = 256·h + l with h = q>>8 ∈ [−128, 127] and
// l = q&255 ∈ [0, 255]. VPDPBUSD multiplies unsigned by signed bytes, so
// the kernel takes u = h+128 and l as the unsigned operands and the
// weights as the signed one, and returns per row the exact sums
// A = Σ w·(h+128) and B = Σ w·l (each |·| ≤ k·127·255: no overflow for
// k < 66000). The caller forms Σ w·q = 256·(A − 128·Σw) + B.
package main

//go:generate go run . -out ../../internal/kernels/q8_amd64.s -stubs ../../internal/kernels/q8_amd64.go -pkg kernels

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/org/bitnet/asm/internal/gen"
)

func main() {
	ConstraintExpr("gc,!purego")
	matVec()
	Generate()
}

func matVec() {
	TEXT("matVecQ8VNNI", NOSPLIT, "func(dst []int32, w []int8, u, l []uint8)")
	Pragma("noescape")
	Doc("matVecQ8VNNI sets dst[2r] = Σ_j w[r·k+j]·u[j] and dst[2r+1] = Σ_j w[r·k+j]·l[j]",
		"for r < len(dst)/2, k = len(u) = len(l) a positive multiple of 64.")
	dp := Load(Param("dst").Base(), GP64())
	rows := Load(Param("dst").Len(), GP64())
	SHRQ(U8(1), rows)
	wp := Load(Param("w").Base(), GP64())
	up := Load(Param("u").Base(), GP64())
	lp := Load(Param("l").Base(), GP64())
	k := Load(Param("u").Len(), GP64())

	// One row at a time, so that each thread reads its rows as one
	// sequential stream; eight accumulator sets take the 64-byte steps of
	// a 512-byte stretch, so that many loads are in flight and the
	// VPDPBUSDs of a row do not wait on each other. From memory on Zen 4
	// this reads at 96% of a plain read loop, where four interleaved rows
	// with software prefetch read at 80%. Integer sums: the order does not
	// matter.
	const sets = 8
	Label("row")
	TESTQ(rows, rows)
	JZ(LabelRef("done"))
	var accU, accL [sets]reg.VecVirtual
	for s := range accU {
		accU[s], accL[s] = ZMM(), ZMM()
		VPXORD(accU[s], accU[s], accU[s])
		VPXORD(accL[s], accL[s], accL[s])
	}
	step := func(s int, j reg.Register) {
		uv, lv, wv := ZMM(), ZMM(), ZMM()
		VMOVDQU8(Mem{Base: up, Index: j, Scale: 1, Disp: 64 * s}, uv)
		VMOVDQU8(Mem{Base: lp, Index: j, Scale: 1, Disp: 64 * s}, lv)
		VMOVDQU8(Mem{Base: wp, Index: j, Scale: 1, Disp: 64 * s}, wv)
		gen.VPDPBUSD(wv, uv, accU[s])
		gen.VPDPBUSD(wv, lv, accL[s])
	}
	j := GP64()
	XORQ(j, j)
	whole := GP64() // k rounded down to a multiple of 64·sets
	MOVQ(k, whole)
	ANDQ(U32(^uint32(64*sets-1)), whole)
	JZ(LabelRef("rest"))
	Label("cols")
	for s := 0; s < sets; s++ {
		step(s, j)
	}
	ADDQ(U32(64*sets), j)
	CMPQ(j, whole)
	JB(LabelRef("cols"))
	// The steps left over go to the first set.
	Label("rest")
	CMPQ(j, k)
	JAE(LabelRef("sum"))
	step(0, j)
	ADDQ(U8(64), j)
	JMP(LabelRef("rest"))
	Label("sum")
	for s := 1; s < sets; s++ {
		VPADDD(accU[s], accU[0], accU[0])
		VPADDD(accL[s], accL[0], accL[0])
	}
	reduce(accU[0], Mem{Base: dp})
	reduce(accL[0], Mem{Base: dp, Disp: 4})
	ADDQ(U8(8), dp)
	ADDQ(k, wp)
	DECQ(rows)
	JMP(LabelRef("row"))
	Label("done")
	VZEROUPPER()
	RET()
}

// reduce adds the 16 int32 lanes of acc and stores the sum at dst.
func reduce(acc reg.VecVirtual, dst Mem) {
	y := YMM()
	VEXTRACTI64X4(U8(1), acc, y)
	y2 := YMM()
	VPADDD(acc.AsY(), y, y2)
	x := XMM()
	VEXTRACTI32X4(U8(1), y2, x) // EVEX: the registers may be X16-X31
	x2 := XMM()
	VPADDD(y2.AsX(), x, x2)
	x3 := XMM()
	VPSHUFD(U8(0x4e), x2, x3)
	VPADDD(x3, x2, x2)
	VPSHUFD(U8(0xb1), x2, x3)
	VPADDD(x3, x2, x2)
	VMOVD(x2, dst)
}
