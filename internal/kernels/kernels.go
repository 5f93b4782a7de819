// Package kernels holds the arithmetic inner loops of the forward pass: the
// ternary × int8 products, activation quantization and the f16 output matrix.
//
// Every kernel has a portable Go reference (the *Generic functions, always
// built, simple and slow: the tests' ground truth). The tiers, selected once
// at start-up in dispatch_amd64.go from internal/cpu (so BITNET_CPU=generic
// or avx2 caps them):
//
//   - generic: Go; for I2_S the faster portable code of i2s_go.go;
//   - avx2: AVX2 + F16C kernels generated with avo (see the asm module);
//   - avx512: AVX-512 F/BW/VL kernels (the f16 kernel stays AVX2);
//   - avx512vnni: the avx512 tier with VPDPBUSD in the I2_S kernels.
//
// The integer results of every tier are identical to the reference, and so
// are the float32 results of QuantizeI8 and MatVecF16 (same rounding, same
// summation order). The purego build tag, another architecture or another
// compiler leaves only the Go code.
//
// Ternary weights use bitnet.cpp's I2_S layout: each row of k weights (k a
// multiple of 128) is k/4 bytes of 2-bit codes c ∈ {0,1,2} meaning w = c−1,
// in 32-byte blocks of 128 weights where byte j holds weights j, j+32, j+64
// and j+96 in bits 7-6, 5-4, 3-2 and 1-0. The kernels return Σ c·q; the
// ternary product is that minus Σ q, which QuantizeI8 returns once per
// token. (A code of 3, absent from valid files, counts as 3 in every tier.)
package kernels

// BlockSize is the number of weights in one 32-byte I2_S block.
const BlockSize = 128

// RowBytes is the number of bytes of one I2_S row of k weights.
func RowBytes(k int) int { return k / 4 }

// An implementation is one tier of kernels that tests and benchmarks can
// select, after crypto/internal/impl: its name (as BITNET_CPU spells it),
// whether this CPU supports it, and the dispatch flags that choose it.
type implementation struct {
	name      string
	available bool
	flags     []*bool
}

// implementations lists the tiers from the most portable; the generic one
// has no flag: it runs when all flags are off.
var implementations = []implementation{{name: "generic", available: true}}

// register adds a tier; flags are the dispatch variables that must all be
// true (and every other tier's false) to select it.
func register(name string, available bool, flags ...*bool) {
	implementations = append(implementations, implementation{name, available, flags})
}

// selectImplementation turns on exactly the flags of the named tier and
// returns a function that restores the previous settings. For tests and
// benchmarks; not safe for use while kernels run on other goroutines.
func selectImplementation(name string) (restore func()) {
	saved := map[*bool]bool{}
	for _, im := range implementations {
		for _, f := range im.flags {
			saved[f] = *f
			*f = false
		}
	}
	found := false
	for _, im := range implementations {
		if im.name == name {
			found = true
			for _, f := range im.flags {
				*f = true
			}
		}
	}
	if !found {
		panic("kernels: unknown implementation " + name)
	}
	return func() {
		for f, v := range saved {
			*f = v
		}
	}
}
