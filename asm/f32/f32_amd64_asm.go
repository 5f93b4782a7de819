// Command f32 generates internal/kernels/f32_amd64.s and its Go stubs: the
// float32 vector kernels of attention (dot products of a query with the
// cached keys, and the weighted sum of the cached values) and the bf16 dot
// product of a bf16 output matrix, with AVX2.
//
// Both give the same float32 results as their Go twins (dotF32Generic,
// axpyF32Generic), bit for bit, so that logits do not depend on the CPU:
// every product is rounded before it is added (VMULPS then VADDPS, no fused
// multiply-add), and dotF32AVX2 keeps the Go twin's summation order: 16
// partial sums (two YMM accumulators, lane j mod 16) in column order, the
// accumulators added lane by lane, and the 8 lanes reduced as
// ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)). Lengths must be multiples of
// 16; the Go wrappers do the rest.
package main

//go:generate go run . -out ../../internal/kernels/f32_amd64.s -stubs ../../internal/kernels/f32_amd64.go -pkg kernels

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("gc,!purego")
	dot()
	axpy()
	dotBF16()
	dotRows()
	weightedSum()
	Generate()
}

func dot() {
	TEXT("dotF32AVX2", NOSPLIT, "func(a, b []float32) float32")
	Pragma("noescape")
	Doc("dotF32AVX2 returns Σ a[j]·b[j] over len(a), a multiple of 16 (len(b) ≥ len(a)),",
		"in the order of dotF32Generic.")
	ap := Load(Param("a").Base(), GP64())
	bp := Load(Param("b").Base(), GP64())
	n := Load(Param("a").Len(), GP64())
	acc0, acc1 := YMM(), YMM()
	VXORPS(acc0, acc0, acc0)
	VXORPS(acc1, acc1, acc1)
	i := GP64()
	XORQ(i, i)
	Label("dot_loop")
	CMPQ(i, n)
	JAE(LabelRef("dot_done"))
	dotStep(ap, bp, i, acc0, acc1)
	ADDQ(U8(16), i)
	JMP(LabelRef("dot_loop"))
	Label("dot_done")
	reduce16(acc0, acc1)
}

// dotStep adds the products of the 16 elements at index i of a and b to
// the two accumulators (lanes j mod 16), each product rounded first.
func dotStep(a, b, i reg.Register, acc0, acc1 reg.VecVirtual) {
	x0, x1 := YMM(), YMM()
	VMOVUPS(Mem{Base: a, Index: i, Scale: 4}, x0)
	VMOVUPS(Mem{Base: a, Index: i, Scale: 4, Disp: 32}, x1)
	VMULPS(Mem{Base: b, Index: i, Scale: 4}, x0, x0)
	VMULPS(Mem{Base: b, Index: i, Scale: 4, Disp: 32}, x1, x1)
	VADDPS(x0, acc0, acc0)
	VADDPS(x1, acc1, acc1)
}

// reduce16 adds the two accumulators lane by lane, reduces the 8 lanes as
// ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)) and returns the sum.
func reduce16(acc0, acc1 reg.VecVirtual) {
	lo := reduce16To(acc0, acc1)
	VZEROUPPER()
	Store(lo, ReturnIndex(0))
	RET()
}

// reduce16To is reduce16's arithmetic: the sum is left in lane 0 of the
// returned register.
func reduce16To(acc0, acc1 reg.VecVirtual) reg.Register {
	VADDPS(acc1, acc0, acc0)
	hi := XMM()
	VEXTRACTF128(U8(1), acc0, hi)
	lo := acc0.AsX()
	VADDPS(hi, lo, lo) // lanes: l0+l4, l1+l5, l2+l6, l3+l7
	sh := XMM()
	VMOVHLPS(lo, sh, sh) // l2+l6, l3+l7
	VADDPS(sh, lo, lo)   // (l0+l4)+(l2+l6), (l1+l5)+(l3+l7)
	VMOVSHDUP(lo, sh)    // lane 1 into lane 0
	VADDSS(sh, lo, lo)
	return lo
}

// dotRows emits the attention scores of a query against the cached keys of
// a head: one dot product per key, in a single call.
func dotRows() {
	TEXT("dotRowsF32AVX2", NOSPLIT, "func(dst []float32, w []float32, x []float32)")
	Pragma("noescape")
	Doc("dotRowsF32AVX2 sets dst[r] = Σ_j w[r·k+j]·x[j] for r < len(dst), k = len(x) a",
		"multiple of 16 (len(w) ≥ len(dst)·k), each in the order of dotF32Generic.")
	dp := Load(Param("dst").Base(), GP64())
	rows := Load(Param("dst").Len(), GP64())
	wp := Load(Param("w").Base(), GP64())
	xp := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	Label("rows_loop")
	TESTQ(rows, rows)
	JZ(LabelRef("rows_done"))
	acc0, acc1 := YMM(), YMM()
	VXORPS(acc0, acc0, acc0)
	VXORPS(acc1, acc1, acc1)
	i := GP64()
	XORQ(i, i)
	Label("cols_loop")
	dotStep(wp, xp, i, acc0, acc1)
	ADDQ(U8(16), i)
	CMPQ(i, n)
	JB(LabelRef("cols_loop"))
	VMOVSS(reduce16To(acc0, acc1), Mem{Base: dp})
	ADDQ(U8(4), dp)
	LEAQ(Mem{Base: wp, Index: n, Scale: 4}, wp)
	DECQ(rows)
	JMP(LabelRef("rows_loop"))
	Label("rows_done")
	VZEROUPPER()
	RET()
}

// weightedSum emits attention's output for a head: the cached values
// weighted by the attention, with the running sums in registers.
func weightedSum() {
	TEXT("weightedSumF32AVX2", NOSPLIT, "func(out []float32, a []float32, v []float32, stride int)")
	Pragma("noescape")
	Doc("weightedSumF32AVX2 sets out[j] = Σ_p a[p]·v[p·stride+j] for j < len(out), a multiple",
		"of 8 up to 64, adding in p order with each product rounded first, as len(a) calls",
		"of axpyF32Generic on a zeroed out would (len(v) ≥ (len(a)−1)·stride + len(out)).")
	op := Load(Param("out").Base(), GP64())
	n := Load(Param("out").Len(), GP64())
	ap := Load(Param("a").Base(), GP64())
	cnt := Load(Param("a").Len(), GP64())
	vp := Load(Param("v").Base(), GP64())
	stride := Load(Param("stride"), GP64())
	SHRQ(U8(3), n) // vectors of 8
	var acc [8]reg.VecVirtual
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	TESTQ(cnt, cnt)
	JZ(LabelRef("ws_store"))
	Label("ws_loop")
	av := YMM()
	VBROADCASTSS(Mem{Base: ap}, av)
	// Only the first n of the 8 vectors are live: jump out after the n-th.
	for i := range acc {
		t := YMM()
		VMULPS(Mem{Base: vp, Disp: 32 * i}, av, t)
		VADDPS(t, acc[i], acc[i])
		if i < len(acc)-1 {
			CMPQ(n, U8(i+1))
			JE(LabelRef("ws_next"))
		}
	}
	Label("ws_next")
	ADDQ(U8(4), ap)
	LEAQ(Mem{Base: vp, Index: stride, Scale: 4}, vp)
	DECQ(cnt)
	JNZ(LabelRef("ws_loop"))
	Label("ws_store")
	for i := range acc {
		VMOVUPS(acc[i], Mem{Base: op, Disp: 32 * i})
		if i < len(acc)-1 {
			CMPQ(n, U8(i+1))
			JE(LabelRef("ws_done"))
		}
	}
	Label("ws_done")
	VZEROUPPER()
	RET()
}

func axpy() {
	TEXT("axpyF32AVX2", NOSPLIT, "func(y []float32, a float32, x []float32)")
	Pragma("noescape")
	Doc("axpyF32AVX2 sets y[i] += a·x[i] (the product rounded first) for i < len(y),",
		"a multiple of 16 (len(x) ≥ len(y)).")
	yp := Load(Param("y").Base(), GP64())
	n := Load(Param("y").Len(), GP64())
	xp := Load(Param("x").Base(), GP64())
	av := YMM()
	VBROADCASTSS(NewParamAddr("a", 24), av)
	i := GP64()
	XORQ(i, i)
	Label("axpy_loop")
	CMPQ(i, n)
	JAE(LabelRef("axpy_done"))
	y0, y1 := YMM(), YMM()
	VMOVUPS(Mem{Base: yp, Index: i, Scale: 4}, y0)
	VMOVUPS(Mem{Base: yp, Index: i, Scale: 4, Disp: 32}, y1)
	p0, p1 := YMM(), YMM()
	VMULPS(Mem{Base: xp, Index: i, Scale: 4}, av, p0)
	VMULPS(Mem{Base: xp, Index: i, Scale: 4, Disp: 32}, av, p1)
	VADDPS(p0, y0, y0)
	VADDPS(p1, y1, y1)
	VMOVUPS(y0, Mem{Base: yp, Index: i, Scale: 4})
	VMOVUPS(y1, Mem{Base: yp, Index: i, Scale: 4, Disp: 32})
	ADDQ(U8(16), i)
	JMP(LabelRef("axpy_loop"))
	Label("axpy_done")
	VZEROUPPER()
	RET()
}

func dotBF16() {
	TEXT("dotBF16AVX2", NOSPLIT, "func(w []uint16, x []float32) float32")
	Pragma("noescape")
	Doc("dotBF16AVX2 returns Σ bf16(w[j])·x[j] over len(x), a multiple of 16 (len(w) ≥ len(x)),",
		"in the order of dotF32Generic.")
	wp := Load(Param("w").Base(), GP64())
	xp := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	acc0, acc1 := YMM(), YMM()
	VXORPS(acc0, acc0, acc0)
	VXORPS(acc1, acc1, acc1)
	i := GP64()
	XORQ(i, i)
	Label("bf16_loop")
	CMPQ(i, n)
	JAE(LabelRef("bf16_done"))
	w0, w1 := YMM(), YMM()
	VPMOVZXWD(Mem{Base: wp, Index: i, Scale: 2}, w0)
	VPMOVZXWD(Mem{Base: wp, Index: i, Scale: 2, Disp: 16}, w1)
	VPSLLD(U8(16), w0, w0)
	VPSLLD(U8(16), w1, w1)
	VMULPS(Mem{Base: xp, Index: i, Scale: 4}, w0, w0)
	VMULPS(Mem{Base: xp, Index: i, Scale: 4, Disp: 32}, w1, w1)
	VADDPS(w0, acc0, acc0)
	VADDPS(w1, acc1, acc1)
	ADDQ(U8(16), i)
	JMP(LabelRef("bf16_loop"))
	Label("bf16_done")
	reduce16(acc0, acc1)
}
