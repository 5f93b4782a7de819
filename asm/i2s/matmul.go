package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	"github.com/org/bitnet/asm/internal/gen"
)

// matMul emits matMulI2S<ISA>T<T>: one row at a time, each weight vector is
// loaded and unpacked once and applied to T tokens, whose activations are
// memory operands of VPMADDUBSW; T accumulators.
func (v isa) matMul(T int) {
	name := fmt.Sprintf("matMulI2S%sT%d", v.name, T)
	TEXT(name, NOSPLIT, "func(dst []int32, ldd int, w []byte, rows int, q []int8, k int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[t·ldd + r] = Σ_j c[r][j]·q[t·k + j] for r < rows and", name),
		fmt.Sprintf("t < %d: the I2_S matrix w (rows × k) applied to %d token vectors of k int8.", T, T),
		"k must be a positive multiple of 128; the caller checks every bound.")
	dp := Load(Param("dst").Base(), GP64())
	ldd4 := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd4) // bytes between tokens in dst
	wp := Load(Param("w").Base(), GP64())
	rows := Load(Param("rows"), GP64())
	qb := Load(Param("q").Base(), GP64())
	k := Load(Param("k"), GP64())
	var k3 Register
	if T > 3 || T == 3 {
		k3 = GP64()
		LEAQ(Mem{Base: k, Index: k, Scale: 2}, k3)
	}
	mask, ones := v.constants()

	Label("row")
	TESTQ(rows, rows)
	JZ(LabelRef("done"))
	acc := make([]VecVirtual, T)
	for i := range acc {
		acc[i] = v.vec()
		v.zero(acc[i])
	}
	// Token t's activations start at base[t/4] + (t%4)·k.
	bases := make([]Register, (T+3)/4)
	for i := range bases {
		bases[i] = GP64()
		if i == 0 {
			MOVQ(qb, bases[0])
		} else {
			LEAQ(Mem{Base: bases[i-1], Index: k, Scale: 4}, bases[i])
		}
	}
	tok := func(t, off int) Mem { return gen.Stride4(bases[t/4], k, k3, t%4, off) }
	cnt := GP64()
	MOVQ(k, cnt)
	if v.bytes == 64 {
		SHRQ(U8(8), cnt)
	} else {
		SHRQ(U8(7), cnt)
	}
	JZ(LabelRef("tail"))

	Label("loop")
	w := v.vec()
	v.load(Mem{Base: wp}, w)
	c := v.unpack(v.vec, w, mask)
	var x [4]VecVirtual // code vectors in element order, v.bytes each
	if v.bytes == 64 {
		// c[g] holds block b's group g (low half) and block b+1's (high
		// half); element order is b:g0 g1, b:g2 g3, b+1:g0 g1, b+1:g2 g3.
		x[0], x[1] = v.vec(), v.vec()
		VSHUFI64X2(U8(0x44), c[1], c[0], x[0])
		VSHUFI64X2(U8(0x44), c[3], c[2], x[1])
		VSHUFI64X2(U8(0xee), c[1], c[0], c[0])
		VSHUFI64X2(U8(0xee), c[3], c[2], c[2])
		x[2], x[3] = c[0], c[2]
	} else {
		x = c
	}
	for t := 0; t < T; t++ {
		var ops [4]Op
		for g := range ops {
			ops[g] = tok(t, g*v.bytes)
		}
		v.madd(v.vec, x, ops, acc[t], ones)
	}
	ADDQ(U32(v.bytes), wp)
	for _, b := range bases {
		ADDQ(U32(4*v.bytes), b)
	}
	DECQ(cnt)
	JNZ(LabelRef("loop"))

	Label("tail")
	if v.bytes == 64 {
		foldZ(acc)
		TESTQ(U32(128), k)
		JZ(LabelRef("sum"))
		w := YMM()
		VMOVDQU64(Mem{Base: wp}, w)
		c := v.unpack(YMM, w, mask.AsY())
		for t := 0; t < T; t++ {
			var ops [4]Op
			for g := range ops {
				ops[g] = tok(t, 32*g)
			}
			v.madd(YMM, c, ops, acc[t].AsY(), asY(ones))
		}
		ADDQ(U32(32), wp)
	}

	Label("sum")
	var ldd12 Register
	if T >= 4 {
		ldd12 = GP64()
		LEAQ(Mem{Base: ldd4, Index: ldd4, Scale: 2}, ldd12)
	}
	d := GP64()
	MOVQ(dp, d)
	dTok := 0 // the token whose output d addresses, a multiple of 4
	v.storeSums(acc, func(x VecVirtual, first, n int) {
		for i := 0; i < n; i++ {
			for first+i >= dTok+4 {
				LEAQ(Mem{Base: d, Index: ldd4, Scale: 4}, d)
				dTok += 4
			}
			v.lane(x, i, gen.Stride4(d, ldd4, ldd12, first+i-dTok, 0))
		}
	})
	ADDQ(U32(4), dp)
	DECQ(rows)
	JMP(LabelRef("row"))

	Label("done")
	VZEROUPPER()
	RET()
}

// madd emits acc += VPMADDWD(Σ_g VPMADDUBSW(x[g], q[g]), ones) with the
// unpacked codes x and activation operands q.
func (v isa) madd(vec func() VecVirtual, x [4]VecVirtual, q [4]Op, acc, ones Op) {
	if v.vnni {
		for g := range q {
			gen.VPDPBUSD(q[g], x[g], acc)
		}
		return
	}
	s, u := vec(), vec()
	VPMADDUBSW(q[0], x[0], s)
	for g := 1; g < 4; g++ {
		VPMADDUBSW(q[g], x[g], u)
		VPADDW(u, s, s)
	}
	VPMADDWD(ones, s, s)
	VPADDD(s, acc, acc)
}
