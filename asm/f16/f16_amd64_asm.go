// Command f16 generates internal/kernels/f16_amd64.s and its Go stubs: the
// f16 matrix × f32 vector kernel (the tied output matrix) with F16C.
//
// The result must equal dotF16Generic bit for bit, so the kernel keeps its
// summation order: one YMM accumulator per row whose lane l sums the
// products of columns j ≡ l (mod 8) in column order, each product rounded
// (VMULPS then VADDPS, not a fused VFMADD231PS), then the fixed reduction
// ((l0+l4) + (l1+l5)) + ((l2+l6) + (l3+l7)). That order leaves one add
// chain per row, so several rows are kept in flight to hide its latency.
// The memory-bound kernel gains nothing from 512-bit registers, and 16
// lanes would change the order: the AVX-512 tier uses this kernel too.
package main

//go:generate go run . -out ../../internal/kernels/f16_amd64.s -stubs ../../internal/kernels/f16_amd64.go -pkg kernels

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	"github.com/org/bitnet/asm/internal/gen"
)

func main() {
	ConstraintExpr("gc,!purego")
	matVecF16AVX2(8, 4, 1)
	Generate()
}

func matVecF16AVX2(rowsPerStep ...int) {
	TEXT("matVecF16AVX2", NOSPLIT, "func(dst []float32, w []uint16, x []float32)")
	Pragma("noescape")
	Doc("matVecF16AVX2 sets dst[r] = Σ_j f16(w[r·k+j])·x[j], k = len(x), summed in the",
		"order of dotF16Generic. k must be at least 8 and len(w) ≥ len(dst)·k; the caller checks.")
	dp := Load(Param("dst").Base(), GP64())
	rows := Load(Param("dst").Len(), GP64())
	wp := Load(Param("w").Base(), GP64())
	xb := Load(Param("x").Base(), GP64())
	k := Load(Param("x").Len(), GP64())
	rb := GP64() // bytes per row
	LEAQ(Mem{Base: k, Index: k, Scale: 1}, rb)
	rb3 := GP64()
	LEAQ(Mem{Base: rb, Index: rb, Scale: 2}, rb3)

	// The tail: t = k mod 8 columns. xt holds x[k−t:k] in lanes 0..t−1 and
	// zeros above (VMASKMOVPS reads only the selected lanes); a row's tail
	// is the 8 values ending at its end, moved down by 8−t lanes with
	// VPSHUFB, whose control zeroes lanes t..7. The padded lanes add
	// f16(0)·0 = +0, which leaves every accumulator unchanged.
	t := GP64()
	MOVQ(k, t)
	ANDQ(U8(7), t)
	tv := YMM()
	tx := XMM()
	VMOVQ(t, tx)
	VPBROADCASTD(tx, tv)
	mask := gen.Bytes32Y(0x0706050403020100) // lane indices
	VPCMPGTD(mask, tv, mask)                 // lane < t
	k8 := GP64()
	MOVQ(k, k8)
	SUBQ(t, k8)
	xt := YMM()
	VMASKMOVPS(Mem{Base: xb, Index: k8, Scale: 4}, mask, xt)
	ctrl := XMM()
	shufControl(t, ctrl)

	for i, R := range rowsPerStep {
		next := "done"
		if i+1 < len(rowsPerStep) {
			next = label(rowsPerStep[i+1])
		}
		rowsStep(R, next, dp, rows, wp, xb, k, rb, rb3, t, xt, ctrl)
	}
	Label("done")
	VZEROUPPER()
	RET()
}

func label(rows int) string { return fmt.Sprintf("rows%d", rows) }

// shufControl sets ctrl to the VPSHUFB control that moves uint16 lanes
// 8−t..7 of a vector down to lanes 0..t−1 and zeroes lanes t..7: byte b
// takes source byte b+16−2t, or 0 when that is past 15.
func shufControl(t GPVirtual, ctrl VecVirtual) {
	r := GP64()
	MOVQ(U64(0x0706050403020100), r)
	VMOVQ(r, ctrl)
	MOVQ(U64(0x0f0e0d0c0b0a0908), r)
	VPINSRQ(U8(1), r, ctrl, ctrl)
	off := XMM()
	MOVL(U32(16), r.As32())
	SUBL(t.As32(), r.As32())
	SUBL(t.As32(), r.As32())
	VMOVD(r.As32(), off)
	VPBROADCASTB(off, off)
	VPADDB(off, ctrl, ctrl)
	MOVL(U32(0x0f0f0f0f), r.As32())
	VMOVD(r.As32(), off)
	VPBROADCASTD(off, off)
	VPCMPGTB(off, ctrl, off) // bytes > 15
	VPOR(off, ctrl, ctrl)    // bit 7 set: VPSHUFB writes 0
}

// rowsStep emits the loop over groups of R rows.
func rowsStep(R int, next string, dp, rows, wp, xb, k, rb, rb3 Register, t GPVirtual, xt, ctrl VecVirtual) {
	pfx := label(R)
	Label(pfx)
	CMPQ(rows, U32(R))
	JB(LabelRef(next))
	acc := make([]VecVirtual, R)
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	p := GP64()
	MOVQ(wp, p)
	var p4 Register
	if R > 4 {
		p4 = GP64()
		LEAQ(Mem{Base: wp, Index: rb, Scale: 4}, p4)
	}
	row := func(p, p4 Register, i int) Mem {
		if i >= 4 {
			return gen.Stride4(p4, rb, rb3, i-4, 0)
		}
		return gen.Stride4(p, rb, rb3, i, 0)
	}
	// Software prefetch prefetchAhead groups of R rows ahead (R·rb
	// contiguous bytes each), R·16 bytes per iteration.
	var pf Register
	if R > 1 && prefetchAhead > 0 {
		pf = GP64()
		MOVQ(rb, pf)
		SHLQ(U8(log2(R*prefetchAhead)), pf)
		ADDQ(wp, pf)
	}
	xp := GP64()
	MOVQ(xb, xp)
	cnt := GP64()
	MOVQ(k, cnt)
	SHRQ(U8(3), cnt) // ≥ 1: k ≥ 8

	Label(pfx + "loop")
	xv := YMM()
	VMOVUPS(Mem{Base: xp}, xv)
	for i := 0; i < R; i++ {
		h := YMM()
		VCVTPH2PS(row(p, p4, i), h)
		VMULPS(xv, h, h)
		VADDPS(h, acc[i], acc[i])
	}
	if pf != nil {
		for off := 0; off < R*16; off += 64 {
			PREFETCHT2(Mem{Base: pf, Disp: off})
		}
		ADDQ(U32(R*16), pf)
	}
	ADDQ(U32(16), p)
	if R > 4 {
		ADDQ(U32(16), p4)
	}
	ADDQ(U32(32), xp)
	DECQ(cnt)
	JNZ(LabelRef(pfx + "loop"))

	TESTQ(t, t)
	JZ(LabelRef(pfx + "sum"))
	// p is at column k−t of the first row; its last 8 values start at
	// p + 2t − 16.
	LEAQ(Mem{Base: p, Index: t, Scale: 2, Disp: -16}, p)
	if R > 4 {
		LEAQ(Mem{Base: p4, Index: t, Scale: 2, Disp: -16}, p4)
	}
	for i := 0; i < R; i++ {
		h := XMM()
		VMOVDQU(row(p, p4, i), h)
		VPSHUFB(ctrl, h, h)
		hy := YMM()
		VCVTPH2PS(h, hy)
		VMULPS(xt, hy, hy)
		VADDPS(hy, acc[i], acc[i])
	}

	Label(pfx + "sum")
	// ((l0+l4) + (l1+l5)) + ((l2+l6) + (l3+l7)) for each row.
	s := make([]VecVirtual, R)
	for i := range acc {
		s[i] = XMM()
		VEXTRACTF128(U8(1), acc[i], s[i])
		VADDPS(s[i], acc[i].AsX(), s[i]) // l0+l4, l1+l5, l2+l6, l3+l7
	}
	i := 0
	for ; i+4 <= R; i += 4 {
		VHADDPS(s[i+1], s[i], s[i])     // row i: (l0+l4)+(l1+l5), (l2+l6)+(l3+l7); row i+1: same
		VHADDPS(s[i+3], s[i+2], s[i+2]) // rows i+2, i+3
		VHADDPS(s[i+2], s[i], s[i])     // the four sums
		VMOVUPS(s[i], Mem{Base: dp, Disp: 4 * i})
	}
	for ; i < R; i++ {
		VHADDPS(s[i], s[i], s[i])
		VHADDPS(s[i], s[i], s[i])
		VMOVSS(s[i], Mem{Base: dp, Disp: 4 * i})
	}
	ADDQ(U32(4*R), dp)
	if R == 1 {
		ADDQ(rb, wp)
	} else {
		LEAQ(Mem{Base: wp, Index: rb, Scale: uint8(R)}, wp)
	}
	SUBQ(U32(R), rows)
	JMP(LabelRef(pfx))
}

// prefetchAhead is how many row groups ahead the kernel prefetches (0: none).
var prefetchAhead = 2

func log2(n int) int {
	l := 0
	for 1<<l < n {
		l++
	}
	if 1<<l != n {
		panic("not a power of 2")
	}
	return l
}
