package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	"github.com/org/bitnet/asm/internal/gen"
)

// matVecVNNI emits matVecI2SAVX512VNNI, the decode kernel of the VNNI tier,
// which skips the shifts of dot: the code of group g is masked in place,
// c'_g = w & (0xC0 >> 2g) = c_g · 4^(3−g), and VPDPBUSD sums c'_g·q into an
// accumulator of its own for each group. Every lane of the group-g
// accumulator is then a multiple of 4^(3−g), so one exact arithmetic shift
// per row at the end (VPSRAD by 6−2g) recovers Σ c_g·q. A 64-byte step of a
// row is one load, four VPANDD and four VPDPBUSD, against one load, three
// VPSRLW, four VPANDD and four VPDPBUSD for dot: 35-38 against 25 GB/s on
// one Zen 4 core from cache. Lanes cannot overflow: |c'·q| ≤ 192·128 per
// product (code 3 included), four products per lane per step, k/256 steps:
// under 2^31 for k < 2^22 (the caller checks).
//
// Rows go R at a time (R from rowsPerStep, largest first), with 4R
// accumulators, the four activation vectors of the step and the four masks
// in registers: R = 4 uses 24 of the 32 vector registers; the masks are
// broadcast from memory.
func (v isa) matVecVNNI(rowsPerStep ...int) {
	var masks Mem
	matVecKernel(v.name, []string{
		"matVecI2SAVX512VNNI sets dst[r] = Σ_j c[r][j]·q[j] for r < len(dst), c the codes",
		"of the I2_S matrix w (len(dst) rows of len(q)/4 bytes). len(q) must be a",
		"positive multiple of 128 below 2^22 and len(w) ≥ len(dst)·len(q)/4; the caller",
		"checks.",
	}, rowsPerStep, func() {
		// The four masks, broadcast from memory by VPANDD: registers are
		// short.
		masks = GLOBL("i2sGroupMasks", RODATA|NOPTR)
		for g := 0; g < 4; g++ {
			b := uint32(0xC0 >> (2 * g))
			DATA(4*g, U32(b|b<<8|b<<16|b<<24))
		}
	}, func(a mvArgs, R int, next string) {
		v.matVecVNNIRows(a, R, next, masks)
	})
}

func (v isa) matVecVNNIRows(a mvArgs, R int, next string, masks Mem) {
	pfx := groupStart(a, R, next)
	wp, qb, k, rb, rb3 := a.wp, a.qb, a.k, a.rb, a.rb3

	acc := make([][4]VecVirtual, R)
	for i := range acc {
		for g := range acc[i] {
			acc[i][g] = ZMM()
			VPXORD(acc[i][g], acc[i][g], acc[i][g])
		}
	}
	p := GP64()
	MOVQ(wp, p)
	row := func(i, off int) Mem { return gen.Stride4(p, rb, rb3, i, off) }
	pf := v.prefetcher(a, R)
	qp := GP64()
	MOVQ(qb, qp)
	cnt := GP64()
	MOVQ(k, cnt)
	SHRQ(U8(8), cnt) // block pairs
	JZ(LabelRef(pfx + "tail"))

	Label(pfx + "loop")
	var x [4]VecVirtual
	for g := range x {
		// Block b's group g in the low half, block b+1's in the high half.
		x[g] = ZMM()
		VMOVDQU64(Mem{Base: qp, Disp: 32 * g}, x[g].AsY())
		VINSERTI64X4(U8(1), Mem{Base: qp, Disp: 128 + 32*g}, x[g], x[g])
	}
	for i := 0; i < R; i++ {
		w := ZMM()
		VMOVDQU64(row(i, 0), w)
		for g := 0; g < 4; g++ {
			c := ZMM()
			VPANDD_BCST(masks.Offset(4*g), w, c)
			gen.VPDPBUSD(x[g], c, acc[i][g])
		}
	}
	if pf != nil {
		for off := 0; off < R*64; off += 64 {
			PREFETCHT0(Mem{Base: pf, Disp: off})
		}
		ADDQ(U32(R*64), pf)
	}
	ADDQ(U32(64), p)
	ADDQ(U32(256), qp)
	DECQ(cnt)
	JNZ(LabelRef(pfx + "loop"))

	Label(pfx + "tail")
	// Undo each group's scale and add the groups: one accumulator per row.
	sum := make([]VecVirtual, R)
	for i := range sum {
		sum[i] = acc[i][3]
		for g := 0; g < 3; g++ {
			VPSRAD(U8(6-2*g), acc[i][g], acc[i][g])
			VPADDD(acc[i][g], sum[i], sum[i])
		}
	}
	foldZ(sum)
	v.oddBlock(k, qp, pfx, R, row, sum, func() Op { return gen.Broadcast32Y(0x03030303) }, nil)

	Label(pfx + "sum")
	v.groupEnd(a, R, pfx, sum)
}
