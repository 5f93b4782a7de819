// Command f16 generates internal/kernels/f16_amd64.s and its Go stubs: the
// f16 matrix × f32 vector kernel (the tied output matrix) with F16C.
//
// The result must equal dotF16Generic bit for bit, so the kernel keeps its
// summation order: 32 float32 partial sums, sum s of columns j ≡ s (mod 32)
// in column order, each product rounded (VMULPS then VADDPS, not a fused
// VFMADD231PS); four YMM accumulators hold them, accumulator a lane l being
// sum 8a+l. The fixed reduction is t_l = (s_l + s_8+l) + (s_16+l + s_24+l),
// then ((t0+t4) + (t1+t5)) + ((t2+t6) + (t3+t7)).
//
// Rows go one at a time, so that each thread reads its rows as one
// sequential stream, the pattern the hardware prefetchers follow best: on
// Zen 4 from memory this matches a plain read loop (55 GB/s on two cores)
// where eight interleaved rows with software prefetch reached 47. The four
// independent accumulators keep the adds of one row from waiting on each
// other. The memory-bound kernel gains nothing from 512-bit registers: the
// AVX-512 tier uses this kernel too.
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
	matVecF16AVX2()
	toF32()
	Generate()
}

// toF32 emits the row conversion of the embedding lookup and of the int8
// output matrix's quantization at load.
func toF32() {
	TEXT("f16ToF32AVX2", NOSPLIT, "func(dst []float32, src []uint16)")
	Pragma("noescape")
	Doc("f16ToF32AVX2 sets dst[j] = f16(src[j]) for j < len(dst), a multiple of 32",
		"(len(src) ≥ len(dst)).")
	dp := Load(Param("dst").Base(), GP64())
	n := Load(Param("dst").Len(), GP64())
	sp := Load(Param("src").Base(), GP64())
	SHRQ(U8(5), n)
	JZ(LabelRef("conv_done"))
	Label("conv_loop")
	for a := 0; a < 4; a++ {
		v := YMM()
		VCVTPH2PS(Mem{Base: sp, Disp: 16 * a}, v)
		VMOVUPS(v, Mem{Base: dp, Disp: 32 * a})
	}
	ADDQ(U8(64), sp)
	ADDQ(U32(128), dp)
	DECQ(n)
	JNZ(LabelRef("conv_loop"))
	Label("conv_done")
	VZEROUPPER()
	RET()
}

func matVecF16AVX2() {
	TEXT("matVecF16AVX2", NOSPLIT, "func(dst []float32, w []uint16, x []float32)")
	Pragma("noescape")
	Doc("matVecF16AVX2 sets dst[r] = Σ_j f16(w[r·k+j])·x[j], k = len(x), summed in the",
		"order of dotF16Generic. k must be at least 8 and len(w) ≥ len(dst)·k; the caller checks.")
	dp := Load(Param("dst").Base(), GP64())
	rows := Load(Param("dst").Len(), GP64())
	wp := Load(Param("w").Base(), GP64())
	xb := Load(Param("x").Base(), GP64())
	k := Load(Param("x").Len(), GP64())

	// The tail: t = k mod 8 columns. xt holds x[k−t:k] in lanes 0..t−1 and
	// zeros above (VMASKMOVPS reads only the selected lanes); a row's tail
	// is the 8 values ending at its end, moved down by 8−t lanes with
	// VPSHUFB, whose control zeroes lanes t..7. The padded lanes add
	// f16(0)·0 = +0, which leaves every accumulator unchanged. The tail
	// belongs to sums 8g..8g+7, g = (k/8) mod 4.
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
	groups := GP64() // full 8-column groups after the 32-column blocks
	MOVQ(k, groups)
	SHRQ(U8(3), groups)
	ANDQ(U8(3), groups)

	Label("row")
	TESTQ(rows, rows)
	JZ(LabelRef("done"))
	var acc [4]VecVirtual
	for a := range acc {
		acc[a] = YMM()
		VXORPS(acc[a], acc[a], acc[a])
	}
	xp := GP64()
	MOVQ(xb, xp)
	cnt := GP64()
	MOVQ(k, cnt)
	SHRQ(U8(5), cnt)
	JZ(LabelRef("groups"))
	// product a: columns 8a..8a+7 of the block at wp, xp.
	product := func(a int) VecVirtual {
		h := YMM()
		VCVTPH2PS(Mem{Base: wp, Disp: 16 * a}, h)
		VMULPS(Mem{Base: xp, Disp: 32 * a}, h, h)
		return h
	}
	Label("loop")
	for a := range acc {
		VADDPS(product(a), acc[a], acc[a])
	}
	ADDQ(U32(64), wp)
	ADDQ(U32(128), xp)
	DECQ(cnt)
	JNZ(LabelRef("loop"))

	// Up to three full groups go to sums 0.., 8.., 16...
	Label("groups")
	for a := 0; a < 3; a++ {
		CMPQ(groups, U32(a))
		JBE(LabelRef("tail"))
		VADDPS(product(a), acc[a], acc[a])
	}

	Label("tail")
	TESTQ(t, t)
	JZ(LabelRef("sum"))
	// wp + 16·groups is at column k−t of the row; its last 8 values start
	// at wp + 16·groups + 2t − 16.
	h := XMM()
	end := GP64()
	MOVQ(groups, end)
	SHLQ(U8(3), end)
	ADDQ(t, end)
	VMOVDQU(Mem{Base: wp, Index: end, Scale: 2, Disp: -16}, h)
	VPSHUFB(ctrl, h, h)
	hy := YMM()
	VCVTPH2PS(h, hy)
	VMULPS(xt, hy, hy)
	for a := 0; a < 4; a++ {
		next := "sum"
		if a < 3 {
			next = fmt.Sprintf("tail%d", a+1)
			CMPQ(groups, U32(a))
			JNE(LabelRef(next))
		}
		VADDPS(hy, acc[a], acc[a])
		JMP(LabelRef("sum"))
		if a < 3 {
			Label(next)
		}
	}

	Label("sum")
	// t_l = (s_l + s_8+l) + (s_16+l + s_24+l), then
	// ((t0+t4) + (t1+t5)) + ((t2+t6) + (t3+t7)).
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	r := XMM()
	VEXTRACTF128(U8(1), acc[0], r)
	VADDPS(r, acc[0].AsX(), r) // t0+t4, t1+t5, t2+t6, t3+t7
	VHADDPS(r, r, r)
	VHADDPS(r, r, r)
	VMOVSS(r, Mem{Base: dp})
	ADDQ(U32(4), dp)
	// wp is past the row's 32-column blocks: move it to the next row.
	LEAQ(Mem{Base: wp, Index: groups, Scale: 8}, wp)
	LEAQ(Mem{Base: wp, Index: groups, Scale: 8}, wp)
	LEAQ(Mem{Base: wp, Index: t, Scale: 2}, wp)
	DECQ(rows)
	JMP(LabelRef("row"))

	Label("done")
	VZEROUPPER()
	RET()
}

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
