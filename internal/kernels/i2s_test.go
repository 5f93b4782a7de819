package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// naiveI2S decodes element j of an I2_S row the way FORMATS.md §3b states it.
func naiveI2S(row []byte, j int) int32 {
	b := row[32*(j/128)+j%32]
	shift := 6 - 2*((j%128)/32)
	return int32(b >> shift & 3)
}

func TestI2SReference(t *testing.T) {
	// The worked example: elements 0, 32, 64, 96 with codes 2, 1, 0, 2.
	row := make([]byte, 32)
	row[0] = 0x92
	assert.Equal(t, []int32{2, 1, 0, 2}, []int32{naiveI2S(row, 0), naiveI2S(row, 32), naiveI2S(row, 64), naiveI2S(row, 96)})

	rng := rand.New(rand.NewPCG(1, 1))
	for _, k := range []int{128, 256, 640, 2560} {
		w := randomI2S(t, rng, 1, k, 3)
		q := randomI8(t, rng, k)
		var want, sumQ, ternary int32
		for j := range k {
			want += naiveI2S(w, j) * int32(q[j])
			sumQ += int32(q[j])
			if c := naiveI2S(w, j); c < 3 {
				ternary += (c - 1) * int32(q[j])
			}
		}
		assert.Equal(t, want, dotI2SGeneric(w, q), "k=%d", k)
		_ = ternary
		_ = sumQ
	}
}

// TestTernaryIdentity checks Σ w·q = Σ c·q − Σ q through the exported API.
func TestTernaryIdentity(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(2, 2))
		const rows, k = 5, 384
		w := randomI2S(t, rng, rows, k, 2)
		x := make([]float32, k)
		for i := range x {
			x[i] = rng.Float32()*2 - 1
		}
		q := make([]int8, k)
		_, sum := QuantizeI8(q, x)
		dst := make([]int32, rows)
		MatVecI2S(dst, w, q)
		for r := range rows {
			var want int32
			for j := range k {
				want += (naiveI2S(w[r*k/4:], j) - 1) * int32(q[j])
			}
			assert.Equal(t, want, dst[r]-sum, "row %d", r)
		}
	})
}

func TestMatVecI2S(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 3))
		for rows := 1; rows <= 37; rows++ {
			for blocks := 1; blocks <= 20; blocks++ {
				k := 128 * blocks
				w := randomI2S(t, rng, rows, k, 2)
				q := randomI8(t, rng, k)
				checkMatVec(t, w, q, rows)
			}
		}
	})
}

func checkMatVec(t *testing.T, w []byte, q []int8, rows int) {
	t.Helper()
	want := make([]int32, rows)
	matVecI2SGeneric(want, w, q)
	got := withGuard(rows)
	MatVecI2S(got, w, q)
	checkGuard(t, got)
	require.Equal(t, want, got, "rows=%d k=%d", rows, len(q))
}

// TestMatVecI2SExtremes drives every 16-bit partial sum to its limit.
func TestMatVecI2SExtremes(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, k := range []int{128, 256, 384, 6912} {
			for _, code := range []byte{0x00, 0xaa, 0xff, 0x55, 0x1b} {
				for _, v := range []int8{-128, 127, -1} {
					const rows = 13
					w := guarded[byte](t, rows*k/4)
					for i := range w {
						w[i] = code
					}
					q := guarded[int8](t, k)
					for i := range q {
						q[i] = v
					}
					checkMatVec(t, w, q, rows)
				}
			}
		}
	})
}

func TestMatMulI2S(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(4, 4))
		for _, rows := range []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 37} {
			for blocks := 1; blocks <= 20; blocks++ {
				for n := 1; n <= 11; n++ {
					k := 128 * blocks
					ldd := rows + rng.IntN(3)
					w := randomI2S(t, rng, rows, k, 2)
					q := randomI8(t, rng, n*k)
					checkMatMul(t, w, rows, q, k, n, ldd)
				}
			}
		}
	})
}

func checkMatMul(t *testing.T, w []byte, rows int, q []int8, k, n, ldd int) {
	t.Helper()
	size := (n-1)*ldd + rows
	want := make([]int32, size)
	for i := range want {
		want[i] = sentinel
	}
	matMulI2SGeneric(want, ldd, w, rows, q, k, n)
	got := withGuard(size)
	MatMulI2S(got, ldd, w, rows, q, k, n)
	checkGuard(t, got)
	require.Equal(t, want, got, "rows=%d k=%d n=%d ldd=%d", rows, k, n, ldd)
}

func TestI2SEmptyAndPanics(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		MatVecI2S(nil, nil, make([]int8, 128))
		dst := []int32{7, 7}
		MatVecI2S(dst, nil, nil)
		assert.Equal(t, []int32{0, 0}, dst)
		MatMulI2S(nil, 0, nil, 0, nil, 128, 3)
		MatMulI2S(dst, 0, nil, 2, nil, 0, 1)

		assert.Panics(t, func() { MatVecI2S(make([]int32, 1), make([]byte, 32), make([]int8, 100)) })
		assert.Panics(t, func() { MatVecI2S(make([]int32, 2), make([]byte, 63), make([]int8, 128)) })
		assert.Panics(t, func() { MatMulI2S(make([]int32, 4), 2, make([]byte, 64), 2, make([]int8, 255), 128, 2) })
		assert.Panics(t, func() { MatMulI2S(make([]int32, 3), 2, make([]byte, 64), 2, make([]int8, 256), 128, 2) })
		assert.Panics(t, func() { MatMulI2S(make([]int32, 4), 1, make([]byte, 64), 2, make([]int8, 256), 128, 2) })
		assert.Panics(t, func() { MatMulI2S(make([]int32, 4), 2, make([]byte, 63), 2, make([]int8, 256), 128, 2) })
		assert.Panics(t, func() { MatMulI2S(make([]int32, 4), 2, make([]byte, 64), 2, make([]int8, 256), 100, 2) })
	})
}

func ExampleMatVecI2S() {
	// One row of 128 weights: +1, 0, −1, +1 at elements 0, 32, 64, 96
	// (codes 2, 1, 0, 2 in byte 0), 0 elsewhere (code 1 = 0b01).
	w := make([]byte, 32)
	for i := range w {
		w[i] = 0x55
	}
	w[0] = 0x92
	x := make([]float32, 128)
	x[0], x[32], x[64], x[96] = 1, 1, 0.5, 0.25
	q := make([]int8, 128)
	scale, sum := QuantizeI8(q, x)
	dst := make([]int32, 1)
	MatVecI2S(dst, w, q)
	fmt.Printf("q: %d %d %d; Σw·q = %d ≈ %.2f\n", q[0], q[64], q[96], dst[0]-sum, float32(dst[0]-sum)/scale)
	// Output: q: 127 64 32; Σw·q = 95 ≈ 0.75
}

// TestMatVecI2SLongRows drives the scaled group accumulators of the VNNI
// kernel to their largest sums just below the k it accepts, and checks the
// fallback at that k.
func TestMatVecI2SLongRows(t *testing.T) {
	if testing.Short() {
		t.Skip("12 MB of operands")
	}
	forEachImpl(t, func(t *testing.T) {
		for _, k := range []int{1<<22 - 128, 1 << 22} {
			w := make([]byte, k/4)
			for i := range w {
				w[i] = 0xff
			}
			q := make([]int8, k)
			for i := range q {
				q[i] = -128
			}
			checkMatVec(t, w, q, 1)
		}
	})
}
