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
	"fmt"

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
	k3 := GP64()
	LEAQ(Mem{Base: k, Index: k, Scale: 2}, k3)

	for _, step := range []int{4, 1} {
		top, done := fmt.Sprintf("rows%d", step), fmt.Sprintf("rows%d_done", step)
		Label(top)
		CMPQ(rows, U8(step))
		JB(LabelRef(done))
		accU := make([]reg.VecVirtual, step)
		accL := make([]reg.VecVirtual, step)
		bases := make([]reg.Register, step)
		for r := 0; r < step; r++ {
			accU[r], accL[r] = ZMM(), ZMM()
			VPXORD(accU[r], accU[r], accU[r])
			VPXORD(accL[r], accL[r], accL[r])
			bases[r] = rowBase(wp, k, k3, r)
		}
		// Software prefetch, for groups of four rows: the group two ahead is
		// 4k contiguous bytes, fetched 256 bytes per iteration (the four
		// rows' 64-byte steps are too short streams for the hardware
		// prefetchers).
		var pf reg.Register
		if step == 4 {
			pf = GP64()
			LEAQ(Mem{Base: wp, Index: k, Scale: 8}, pf)
		}
		j := GP64()
		XORQ(j, j)
		inner := fmt.Sprintf("cols%d", step)
		Label(inner)
		if step == 4 {
			for off := 0; off < 256; off += 64 {
				PREFETCHT0(Mem{Base: pf, Disp: off})
			}
			ADDQ(U32(256), pf)
		}
		uv, lv := ZMM(), ZMM()
		VMOVDQU8(Mem{Base: up, Index: j, Scale: 1}, uv)
		VMOVDQU8(Mem{Base: lp, Index: j, Scale: 1}, lv)
		for r := 0; r < step; r++ {
			wv := ZMM()
			VMOVDQU8(Mem{Base: bases[r], Index: j, Scale: 1}, wv)
			gen.VPDPBUSD(wv, uv, accU[r])
			gen.VPDPBUSD(wv, lv, accL[r])
		}
		ADDQ(U8(64), j)
		CMPQ(j, k)
		JB(LabelRef(inner))
		for r := 0; r < step; r++ {
			reduce(accU[r], Mem{Base: dp, Disp: 8 * r})
			reduce(accL[r], Mem{Base: dp, Disp: 8*r + 4})
		}
		ADDQ(U8(8*step), dp)
		if step == 4 {
			LEAQ(Mem{Base: wp, Index: k, Scale: 4}, wp)
		} else {
			ADDQ(k, wp)
		}
		SUBQ(U8(step), rows)
		JMP(LabelRef(top))
		Label(done)
	}
	VZEROUPPER()
	RET()
}

// rowBase returns a register holding the address of row r of a group of
// four rows starting at wp.
func rowBase(wp, k, k3 reg.Register, r int) reg.Register {
	if r == 0 {
		return wp
	}
	base := GP64()
	LEAQ(gen.Stride4(wp, k, k3, r, 0), base)
	return base
}

// reduce adds the 16 int32 lanes of acc and stores the sum at dst.
func reduce(acc reg.VecVirtual, dst Mem) {
	y := YMM()
	VEXTRACTI64X4(U8(1), acc, y)
	y2 := YMM()
	VPADDD(acc.AsY(), y, y2)
	x := XMM()
	VEXTRACTI128(U8(1), y2, x)
	x2 := XMM()
	VPADDD(y2.AsX(), x, x2)
	x3 := XMM()
	VPSHUFD(U8(0x4e), x2, x3)
	VPADDD(x3, x2, x2)
	VPSHUFD(U8(0xb1), x2, x3)
	VPADDD(x3, x2, x2)
	VMOVD(x2, dst)
}
