// Command vec generates internal/kernels/vec_amd64.s and its Go stubs: the
// element-wise steps between the matrix products of a forward pass (the
// sums of squares and scaling of RMSNorm, the relu² gate, the residual
// add), with AVX2.
//
// Each gives its Go twin's results bit for bit: the element-wise kernels
// do each element's operations in the twin's order (VMULPS and VADDPS, no
// fused multiply-add), and sumSquares16AVX2 keeps the twin's 16 float64
// partial sums (four YMM accumulators, sum j mod 16) in element order. The
// kernels handle whole vectors of 16 elements (sumSquares16AVX2) or 8; the
// Go wrappers do the rest.
package main

//go:generate go run . -out ../../internal/kernels/vec_amd64.s -stubs ../../internal/kernels/vec_amd64.go -pkg kernels

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("gc,!purego")
	sumSquares()
	scaleMul()
	reluSqMul()
	add()
	Generate()
}

func sumSquares() {
	TEXT("sumSquares16AVX2", NOSPLIT, "func(x []float32, s *[16]float64)")
	Pragma("noescape")
	Doc("sumSquares16AVX2 adds x[j]² (in float64) to s[j mod 16] for j < len(x), a",
		"multiple of 16, in element order.")
	xp := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	sp := Load(Param("s"), GP64())
	var acc [4]VecVirtual
	for a := range acc {
		acc[a] = YMM()
		VMOVUPD(Mem{Base: sp, Disp: 32 * a}, acc[a])
	}
	SHRQ(U8(4), n)
	JZ(LabelRef("done"))
	Label("loop")
	for a := range acc {
		v := YMM()
		VCVTPS2PD(Mem{Base: xp, Disp: 16 * a}, v)
		VMULPD(v, v, v)
		VADDPD(v, acc[a], acc[a])
	}
	ADDQ(U8(64), xp)
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	for a := range acc {
		VMOVUPD(acc[a], Mem{Base: sp, Disp: 32 * a})
	}
	VZEROUPPER()
	RET()
}

// loop8 emits a loop over the n/8 vectors of 8 float32 (n a multiple of 8)
// with body(i) for the vector at element index i.
func loop8(name string, n Register, body func(i Register)) {
	i := GP64()
	XORQ(i, i)
	Label(name + "_loop")
	CMPQ(i, n)
	JAE(LabelRef(name + "_done"))
	body(i)
	ADDQ(U8(8), i)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

func scaleMul() {
	TEXT("scaleMulAVX2", NOSPLIT, "func(out, x, w []float32, r float32)")
	Pragma("noescape")
	Doc("scaleMulAVX2 sets out[j] = w[j]·(x[j]·r) for j < len(out), a multiple of 8",
		"(len(x), len(w) ≥ len(out)).")
	op := Load(Param("out").Base(), GP64())
	n := Load(Param("out").Len(), GP64())
	xp := Load(Param("x").Base(), GP64())
	wp := Load(Param("w").Base(), GP64())
	r := YMM()
	VBROADCASTSS(NewParamAddr("r", 72), r)
	loop8("scale", n, func(i Register) {
		v := YMM()
		VMULPS(Mem{Base: xp, Index: i, Scale: 4}, r, v)
		VMULPS(Mem{Base: wp, Index: i, Scale: 4}, v, v)
		VMOVUPS(v, Mem{Base: op, Index: i, Scale: 4})
	})
}

func reluSqMul() {
	TEXT("reluSqMulAVX2", NOSPLIT, "func(g, u []float32)")
	Pragma("noescape")
	Doc("reluSqMulAVX2 sets g[j] = max(g[j], 0)²·u[j] for j < len(g), a multiple of 8",
		"(len(u) ≥ len(g)). A NaN g stays NaN; −0 becomes +0 once squared, as in Go.")
	gp := Load(Param("g").Base(), GP64())
	n := Load(Param("g").Len(), GP64())
	up := Load(Param("u").Base(), GP64())
	zero := YMM()
	VXORPS(zero, zero, zero)
	loop8("relu", n, func(i Register) {
		v := YMM()
		// VMAXPS returns its second source (Intel order) when either is a
		// NaN or both are zeros: the element itself, so NaN stays NaN.
		VMAXPS(Mem{Base: gp, Index: i, Scale: 4}, zero, v)
		VMULPS(v, v, v)
		VMULPS(Mem{Base: up, Index: i, Scale: 4}, v, v)
		VMOVUPS(v, Mem{Base: gp, Index: i, Scale: 4})
	})
}

func add() {
	TEXT("addAVX2", NOSPLIT, "func(x, y []float32)")
	Pragma("noescape")
	Doc("addAVX2 sets x[j] += y[j] for j < len(x), a multiple of 8 (len(y) ≥ len(x)).")
	xp := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	yp := Load(Param("y").Base(), GP64())
	loop8("add", n, func(i Register) {
		v := YMM()
		VMOVUPS(Mem{Base: xp, Index: i, Scale: 4}, v)
		VADDPS(Mem{Base: yp, Index: i, Scale: 4}, v, v)
		VMOVUPS(v, Mem{Base: xp, Index: i, Scale: 4})
	})
}
