package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	"github.com/org/bitnet/asm/internal/gen"
)

// matVec emits matVecI2S<ISA>: rows are done R at a time for each R in
// rowsPerStep (largest first); within a step the activation vectors of a
// block (or block pair) are loaded once and applied to the R rows.
func (v isa) matVec(rowsPerStep ...int) {
	TEXT("matVecI2S"+v.name, NOSPLIT, "func(dst []int32, w []byte, q []int8)")
	Pragma("noescape")
	Doc(fmt.Sprintf("matVecI2S%s sets dst[r] = Σ_j c[r][j]·q[j] for r < len(dst), c the codes of", v.name),
		"the I2_S matrix w (len(dst) rows of len(q)/4 bytes). len(q) must be a positive",
		"multiple of 128 and len(w) ≥ len(dst)·len(q)/4; the caller checks.")
	dp := Load(Param("dst").Base(), GP64())
	rows := Load(Param("dst").Len(), GP64())
	wp := Load(Param("w").Base(), GP64())
	qb := Load(Param("q").Base(), GP64())
	k := Load(Param("q").Len(), GP64())
	rb := GP64() // bytes per row
	MOVQ(k, rb)
	SHRQ(U8(2), rb)
	rb3 := GP64()
	LEAQ(Mem{Base: rb, Index: rb, Scale: 2}, rb3)
	mask, ones := v.constants()

	for i, R := range rowsPerStep {
		next := "done"
		if i+1 < len(rowsPerStep) {
			next = label("rows%d", rowsPerStep[i+1])
		}
		v.matVecRows(R, next, dp, rows, wp, qb, k, rb, rb3, mask, ones)
	}
	Label("done")
	VZEROUPPER()
	RET()
}

func (v isa) matVecRows(R int, next string, dp, rows, wp, qb, k, rb, rb3 Register, mask, ones VecVirtual) {
	pfx := label("rows%d", R)
	Label(pfx)
	CMPQ(rows, U32(R))
	JB(LabelRef(next))

	acc := make([]VecVirtual, R)
	for i := range acc {
		acc[i] = v.vec()
		v.zero(acc[i])
	}
	p := GP64()
	MOVQ(wp, p)
	var p4 Register
	if R > 4 {
		p4 = GP64()
		LEAQ(Mem{Base: wp, Index: rb, Scale: 4}, p4)
	}
	row := func(i, off int) Mem {
		if i >= 4 {
			return gen.Stride4(p4, rb, rb3, i-4, off)
		}
		return gen.Stride4(p, rb, rb3, i, off)
	}
	// Software prefetch: a group of R rows is R·rb contiguous bytes, read
	// as R short streams (a 2560-column row is only 10 cache lines, too
	// short for the hardware prefetchers to lock on). pf runs v.prefetch
	// groups ahead of the group being read, R·v.bytes bytes per iteration.
	var pf Register
	if R > 1 && v.prefetch > 0 {
		pf = GP64()
		MOVQ(rb, pf)
		SHLQ(U8(log2(R*v.prefetch)), pf)
		ADDQ(wp, pf)
	}
	qp := GP64()
	MOVQ(qb, qp)
	cnt := GP64()
	MOVQ(k, cnt)
	if v.bytes == 64 {
		SHRQ(U8(8), cnt) // block pairs
	} else {
		SHRQ(U8(7), cnt) // blocks
	}
	JZ(LabelRef(pfx + "tail"))

	Label(pfx + "loop")
	var x [4]Op
	for g := range x {
		r := v.vec()
		if v.bytes == 64 {
			// Block b's group g in the low half, block b+1's in the high half.
			VMOVDQU64(Mem{Base: qp, Disp: 32 * g}, r.AsY())
			VINSERTI64X4(U8(1), Mem{Base: qp, Disp: 128 + 32*g}, r, r)
		} else {
			VMOVDQU(Mem{Base: qp, Disp: 32 * g}, r)
		}
		x[g] = r
	}
	for i := 0; i < R; i++ {
		w := v.vec()
		v.load(row(i, 0), w)
		v.dot(v.vec, w, x, acc[i], mask, ones)
	}
	if pf != nil {
		for off := 0; off < R*v.bytes; off += 64 {
			PREFETCHT0(Mem{Base: pf, Disp: off})
		}
		ADDQ(U32(R*v.bytes), pf)
	}
	ADDQ(U32(v.bytes), p)
	if R > 4 {
		ADDQ(U32(v.bytes), p4)
	}
	ADDQ(U32(4*v.bytes), qp)
	DECQ(cnt)
	JNZ(LabelRef(pfx + "loop"))

	Label(pfx + "tail")
	if v.bytes == 64 {
		foldZ(acc)
		// An odd number of blocks leaves one, done at 256 bits.
		TESTQ(U32(128), k)
		JZ(LabelRef(pfx + "sum"))
		var y [4]Op
		for g := range y {
			r := YMM()
			VMOVDQU64(Mem{Base: qp, Disp: 32 * g}, r)
			y[g] = r
		}
		for i := 0; i < R; i++ {
			w := YMM()
			VMOVDQU64(row(i, 0), w)
			v.dot(YMM, w, y, acc[i].AsY(), mask.AsY(), asY(ones))
		}
	}

	Label(pfx + "sum")
	v.storeSums(acc, func(x VecVirtual, first, n int) {
		if n == 4 {
			v.load(x, Mem{Base: dp, Disp: 4 * first})
		} else {
			VMOVD(x, Mem{Base: dp, Disp: 4 * first})
		}
	})
	ADDQ(U32(4*R), dp)
	switch R {
	case 1:
		ADDQ(rb, wp)
	case 2, 4, 8:
		LEAQ(Mem{Base: wp, Index: rb, Scale: uint8(R)}, wp)
	default:
		panic("rows per step must be 1, 2, 4 or 8")
	}
	SUBQ(U32(R), rows)
	JMP(LabelRef(pfx))
}

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
