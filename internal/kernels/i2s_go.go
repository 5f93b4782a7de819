package kernels

import (
	"encoding/binary"
	"math/bits"
)

// The portable I2_S kernels (the generic tier, every architecture): exact,
// like the reference, but several times faster, with one 64-bit multiply
// for the four products of each weight byte.
//
// Byte p of a row holds the codes c0..c3 of elements e_i = 128·(p/32) +
// p%32 + 32i. With the activations offset to u_i = q[e_i] + 128 ∈ [0, 255]
// and packed as A[p] = Σ u_i·2^(16i), and the codes packed in reverse as
// R[v] = Σ c_i·2^(16(3−i)), the coefficient of 2^48 in A[p]·R[v] is
// Σ_i c_i·u_i: every 16-bit coefficient of the product is at most
// 4·3·255 < 2^16, so none carries into the next, and the terms above 2^63
// fall off. Σ c·q is then Σ_p (A[p]·R[v_p] >> 48) − 128·Σ c, and Σ c of 32
// codes is popcount(W) + popcount(W & 0xAA…) over a 64-bit word W.

// codesRev[v] packs the four codes of byte v in reverse lane order.
var codesRev = func() (t [256]uint64) {
	for v := range t {
		for i := range 4 {
			c := uint64(v>>(6-2*i)) & 3
			t[v] |= c << (16 * (3 - i))
		}
	}
	return t
}()

// goChunk is the number of weight bytes (4·goChunk columns) whose packed
// activations are built at a time, in a stack buffer.
const goChunk = 1024

// matVecI2SGo is matVecI2SGeneric; len(q) is a multiple of 128.
func matVecI2SGo(dst []int32, w []byte, q []int8) {
	rb := len(q) / 4
	var a [goChunk]uint64
	for c0 := 0; c0 < rb; c0 += goChunk {
		n := min(goChunk, rb-c0)
		packActs(a[:n], q[4*c0:4*(c0+n)])
		for r := range dst {
			s := dotPacked(w[r*rb+c0:r*rb+c0+n], a[:n])
			if c0 == 0 {
				dst[r] = s
			} else {
				dst[r] += s
			}
		}
	}
}

// matMulI2SGo is matMulI2SGeneric, one token at a time.
func matMulI2SGo(dst []int32, ldd int, w []byte, rows int, q []int8, k, n int) {
	for t := range n {
		matVecI2SGo(dst[t*ldd:t*ldd+rows], w[:rows*k/4], q[t*k:(t+1)*k])
	}
}

// packActs sets a[p] for the len(a) weight bytes covering q (a multiple of
// 32 bytes: whole blocks).
func packActs(a []uint64, q []int8) {
	for b := 0; b < len(a); b += 32 {
		x := (*[128]int8)(q[4*b:])
		ab := (*[32]uint64)(a[b:])
		for j := range 32 {
			ab[j] = uint64(uint8(x[j])^0x80) | uint64(uint8(x[j+32])^0x80)<<16 |
				uint64(uint8(x[j+64])^0x80)<<32 | uint64(uint8(x[j+96])^0x80)<<48
		}
	}
}

// dotPacked returns Σ c·q for the weight bytes w (whole blocks) against
// packed activations.
func dotPacked(w []byte, a []uint64) int32 {
	w0 := w
	var s0, s1, s2, s3 uint64
	for len(w) >= 4 && len(a) >= 4 {
		s0 += a[0] * codesRev[w[0]] >> 48
		s1 += a[1] * codesRev[w[1]] >> 48
		s2 += a[2] * codesRev[w[2]] >> 48
		s3 += a[3] * codesRev[w[3]] >> 48
		w, a = w[4:], a[4:]
	}
	s := s0 + s1 + s2 + s3
	var pop int
	for w := w0; len(w) >= 8; w = w[8:] {
		v := binary.LittleEndian.Uint64(w)
		pop += bits.OnesCount64(v) + bits.OnesCount64(v&0xaaaaaaaaaaaaaaaa)
	}
	return int32(int64(s) - 128*int64(pop))
}
