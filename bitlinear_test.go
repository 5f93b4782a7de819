package bitnet

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/org/bitnet/internal/parallel"
	"github.com/org/bitnet/internal/ternary"
	"github.com/stretchr/testify/require"
)

// TestBitLinear checks both paths of a projection, one scale per matrix
// and one per 256-weight block (TQ files whose blocks disagree), against
// the definition: out[t][r] = Σ_j W[r][j]·q[t][j] / s_t · scale.
func TestBitLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	pool := parallel.New(3)
	defer pool.Close()
	for _, uniform := range []bool{true, false} {
		rows, k, n := 37, 512, 5
		data := make([]byte, rows*k/256*66)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		for b := 0; b < rows*k/256; b++ {
			d := uint16(0x3c00) // 1.0
			if !uniform {
				d += uint16(b % 7 << 6)
			}
			binary.LittleEndian.PutUint16(data[(b+1)*66-2:], d)
		}
		w, err := ternary.FromTQ2(data, rows, k)
		require.NoError(t, err)
		require.Equal(t, uniform, w.BlockScales == nil)
		l := bitLinear{w: w, scale: 0.75}

		x := make([]float32, n*k)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		a := newQuantActs(n, k)
		a.quantize(x, n)
		out := make([]float32, n*rows)
		var job linJob
		job.apply(pool, a, make([]int32, n*rows), [3]*bitLinear{&l}, [3][]float32{out}, 1)
		for tok := 0; tok < n; tok++ {
			for r := 0; r < rows; r++ {
				var want float64
				for j := 0; j < k; j++ {
					want += float64(w.Weight(r, j)) * float64(a.q[tok*k+j])
				}
				want = want / float64(a.scale[tok]) * 0.75
				require.InDelta(t, want, out[tok*rows+r], 1e-4*(1+abs(want)), "uniform=%v token %d row %d", uniform, tok, r)
			}
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
