package kernels

import (
	"math/rand/v2"
	"testing"
)

// forEachImpl runs f as a sub-test per tier (generic, avx2, avx512), with
// that tier selected, skipping tiers this CPU (or BITNET_CPU) rules out.
func forEachImpl(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, im := range implementations {
		t.Run(im.name, func(t *testing.T) {
			if !im.available {
				t.Skipf("%s: not supported here (or capped by BITNET_CPU)", im.name)
			}
			defer selectImplementation(im.name)()
			f(t)
		})
	}
}

// availableImpls returns the names of the tiers this CPU runs.
func availableImpls() []string {
	var names []string
	for _, im := range implementations {
		if im.available {
			names = append(names, im.name)
		}
	}
	return names
}

// randomI2S returns rows·k/4 bytes of codes from 0..maxCode, at the end of a
// guarded allocation so that reading past it faults.
func randomI2S(t testing.TB, rng *rand.Rand, rows, k int, maxCode uint) []byte {
	w := guarded[byte](t, rows*k/4)
	for i := range w {
		var b byte
		for range 4 {
			b = b<<2 | byte(rng.UintN(maxCode+1))
		}
		w[i] = b
	}
	return w
}

// randomI8 returns n int8 values over the whole range, with both extremes
// appearing often.
func randomI8(t testing.TB, rng *rand.Rand, n int) []int8 {
	q := guarded[int8](t, n)
	for i := range q {
		switch rng.IntN(16) {
		case 0:
			q[i] = -128
		case 1:
			q[i] = 127
		default:
			q[i] = int8(rng.Uint32())
		}
	}
	return q
}

const sentinel = -0x5a5a5a5b

// withGuard returns a slice of n int32 with 16 sentinel values past its end
// (within its capacity); checkGuard verifies them.
func withGuard(n int) []int32 {
	s := make([]int32, n+16)
	for i := range s {
		s[i] = sentinel
	}
	return s[:n]
}

func checkGuard(t testing.TB, s []int32) {
	t.Helper()
	for i, v := range s[len(s):cap(s)] {
		if v != sentinel {
			t.Fatalf("wrote past the end of dst: dst[%d+%d] = %d", len(s), i, v)
		}
	}
}
