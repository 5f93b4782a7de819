package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	"github.com/org/bitnet/asm/internal/gen"
)

// mvArgs holds a matrix-vector kernel's arguments and its row stride.
type mvArgs struct {
	dp, rows, wp, qb, k Register
	rb, rb3             Register // bytes per row, and three times that
}

// matVecKernel emits the frame of matVecI2S<name>: the arguments and row
// stride, setup (constants), then group(a, R, next) for each R of
// rowsPerStep (largest first; next labels the following group size), then
// the return.
func matVecKernel(name string, doc []string, rowsPerStep []int, setup func(), group func(a mvArgs, R int, next string)) {
	TEXT("matVecI2S"+name, NOSPLIT, "func(dst []int32, w []byte, q []int8)")
	Pragma("noescape")
	Doc(doc...)
	var a mvArgs
	a.dp = Load(Param("dst").Base(), GP64())
	a.rows = Load(Param("dst").Len(), GP64())
	a.wp = Load(Param("w").Base(), GP64())
	a.qb = Load(Param("q").Base(), GP64())
	a.k = Load(Param("q").Len(), GP64())
	a.rb = GP64()
	MOVQ(a.k, a.rb)
	SHRQ(U8(2), a.rb)
	a.rb3 = GP64()
	LEAQ(Mem{Base: a.rb, Index: a.rb, Scale: 2}, a.rb3)
	setup()
	for i, R := range rowsPerStep {
		next := "done"
		if i+1 < len(rowsPerStep) {
			next = label("rows%d", rowsPerStep[i+1])
		}
		group(a, R, next)
	}
	Label("done")
	VZEROUPPER()
	RET()
}

// groupStart emits the start of the loop over groups of R rows, which
// leaves for next when fewer than R rows are left, and returns the label
// prefix of the group's code.
func groupStart(a mvArgs, R int, next string) string {
	pfx := label("rows%d", R)
	Label(pfx)
	CMPQ(a.rows, U32(R))
	JB(LabelRef(next))
	return pfx
}

// prefetcher returns the software prefetch pointer of a group of R rows,
// v.prefetch groups ahead (nil for none). A group of R rows is R·rb
// contiguous bytes, read as R short streams (a 2560-column row is only 10
// cache lines, too short for the hardware prefetchers to lock on).
func (v isa) prefetcher(a mvArgs, R int) Register {
	if R <= 1 || v.prefetch == 0 {
		return nil
	}
	pf := GP64()
	MOVQ(a.rb, pf)
	SHLQ(U8(log2(R*v.prefetch)), pf)
	ADDQ(a.wp, pf)
	return pf
}

// groupEnd stores the R row sums, moves dst and w past the group and goes
// back to the group's start.
func (v isa) groupEnd(a mvArgs, R int, pfx string, sums []VecVirtual) {
	v.storeSums(sums, func(x VecVirtual, first, n int) {
		if n == 4 {
			v.load(x, Mem{Base: a.dp, Disp: 4 * first})
		} else {
			VMOVD(x, Mem{Base: a.dp, Disp: 4 * first})
		}
	})
	ADDQ(U32(4*R), a.dp)
	switch R {
	case 1:
		ADDQ(a.rb, a.wp)
	case 2, 4, 8:
		LEAQ(Mem{Base: a.wp, Index: a.rb, Scale: uint8(R)}, a.wp)
	default:
		panic("rows per step must be 1, 2, 4 or 8")
	}
	SUBQ(U32(R), a.rows)
	JMP(LabelRef(pfx))
}

// matVec emits matVecI2S<ISA>: rows are done R at a time for each R in
// rowsPerStep (largest first); within a step the activation vectors of a
// block (or block pair) are loaded once and applied to the R rows.
func (v isa) matVec(rowsPerStep ...int) {
	var mask, ones VecVirtual
	matVecKernel(v.name, []string{
		fmt.Sprintf("matVecI2S%s sets dst[r] = Σ_j c[r][j]·q[j] for r < len(dst), c the codes of", v.name),
		"the I2_S matrix w (len(dst) rows of len(q)/4 bytes). len(q) must be a positive",
		"multiple of 128 and len(w) ≥ len(dst)·len(q)/4; the caller checks.",
	}, rowsPerStep, func() { mask, ones = v.constants() }, func(a mvArgs, R int, next string) {
		v.matVecRows(a, R, next, mask, ones)
	})
}

func (v isa) matVecRows(a mvArgs, R int, next string, mask, ones VecVirtual) {
	pfx := groupStart(a, R, next)
	wp, qb, k, rb, rb3 := a.wp, a.qb, a.k, a.rb, a.rb3

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
	pf := v.prefetcher(a, R)
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
		v.oddBlock(k, qp, pfx, R, row, acc, func() Op { return mask.AsY() }, asY(ones))
	}

	Label(pfx + "sum")
	v.groupEnd(a, R, pfx, acc)
}

// oddBlock emits the block that an odd number of blocks leaves to the
// 512-bit kernels (which go two blocks at a time): done at 256 bits with
// dot, into the YMM views of sums. mask gives dot's code mask.
func (v isa) oddBlock(k, qp Register, pfx string, R int, row func(i, off int) Mem, sums []VecVirtual, mask func() Op, ones Op) {
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
		v.dot(YMM, w, y, sums[i].AsY(), mask(), ones)
	}
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
