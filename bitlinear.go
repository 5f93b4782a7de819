package bitnet

import (
	"github.com/org/bitnet/internal/kernels"
	"github.com/org/bitnet/internal/parallel"
	"github.com/org/bitnet/internal/ternary"
)

// BitLinear, as BitNet b1.58 runs it (FORMATS.md §2): the input of every
// ternary projection is quantized per token to int8 (absmax), multiplied by
// the ternary weights in integers, and rescaled by γ/s.

// bitLinear is one ternary projection.
type bitLinear struct {
	w     *ternary.Matrix // [out][in] ternary codes
	scale float32         // extra output multiplier from a blk.N.<proj>.scale tensor (1 if absent)
}

// quantActs holds a batch of activations quantized for the ternary matmuls:
// q is [n][kp] int8 (zero padded past k), with each token's scale s and Σq.
type quantActs struct {
	q     []int8
	scale []float32
	sum   []int32
	n, kp int
}

func newQuantActs(maxBatch, kp int) *quantActs {
	return &quantActs{q: make([]int8, maxBatch*kp), scale: make([]float32, maxBatch), sum: make([]int32, maxBatch), kp: kp}
}

// quantize fills a with the n token vectors of x (each k = len(x)/n long).
func (a *quantActs) quantize(x []float32, n int) {
	k := len(x) / n
	a.n = n
	for t := 0; t < n; t++ {
		a.scale[t], a.sum[t] = kernels.QuantizeI8(a.q[t*a.kp:(t+1)*a.kp], x[t*k:(t+1)*k])
	}
}

// linJob applies up to three projections to the same activations in one
// parallel loop over all their rows (q, k and v; gate and up; or one), so
// that the pool synchronizes once. A session keeps one, so that a token
// allocates nothing.
type linJob struct {
	ls   [3]*bitLinear
	outs [3][]float32
	n    int // projections in use
	a    *quantActs
	acc  []int32 // n×Σrows int32 scratch
}

// apply computes, for each projection i < n, outs[i][t][r] =
// (Σ_j W[r][j]·q[t][j]) · γ / s_t · scale for the a.n tokens.
func (j *linJob) apply(pool *parallel.Pool, a *quantActs, acc []int32, ls [3]*bitLinear, outs [3][]float32, n int) {
	total := 0
	for _, l := range ls[:n] {
		if l.w.BlockScales != nil {
			for i, l := range ls[:n] {
				l.applyBlockScaled(pool, outs[i], a)
			}
			return
		}
		total += l.w.Rows
	}
	j.ls, j.outs, j.n, j.a, j.acc = ls, outs, n, a, acc
	pool.Run(total, 16, j)
}

// Run does rows [lo, hi) of the projections' rows laid end to end.
func (j *linJob) Run(_, lo, hi int) {
	off := 0
	for i, l := range j.ls[:j.n] {
		rows := l.w.Rows
		if from, to := max(lo, off), min(hi, off+rows); from < to {
			l.rows(from-off, to-off, j.outs[i], j.a, j.acc[j.a.n*off:])
		}
		off += rows
	}
}

// rows computes rows [lo, hi) of apply; acc is the matrix's own scratch
// (n×rows int32).
func (l *bitLinear) rows(lo, hi int, out []float32, a *quantActs, acc []int32) {
	w := l.w
	rows, n, rb := w.Rows, a.n, w.RowBytes()
	if n == 1 {
		kernels.MatVecI2S(acc[lo:hi], w.Data[lo*rb:hi*rb], a.q[:a.kp])
	} else {
		kernels.MatMulI2S(acc[lo:], rows, w.Data[lo*rb:hi*rb], hi-lo, a.q[:n*a.kp], a.kp, n)
	}
	for t := 0; t < n; t++ {
		f := w.Scale * l.scale / a.scale[t]
		sum := a.sum[t]
		o, c := out[t*rows:(t+1)*rows], acc[t*rows:(t+1)*rows]
		for r := lo; r < hi; r++ {
			o[r] = float32(c[r]-sum) * f
		}
	}
}

// applyBlockScaled is apply for matrices with one scale per 256 weights (TQ
// files whose blocks disagree): each block's integer sum gets its own scale.
func (l *bitLinear) applyBlockScaled(pool *parallel.Pool, out []float32, a *quantActs) {
	w := l.w
	rows, rb, nb := w.Rows, w.RowBytes(), w.K/ternary.TQBlock
	const bb = ternary.TQBlock / 4 // bytes per block
	pool.For(rows, 4, func(_, lo, hi int) {
		var acc [1]int32
		qs := make([]int32, nb) // Σq of each block of a token, for every row
		for t := 0; t < a.n; t++ {
			q := a.q[t*a.kp : (t+1)*a.kp]
			for b := range qs {
				qs[b] = 0
				for _, v := range q[b*ternary.TQBlock : (b+1)*ternary.TQBlock] {
					qs[b] += int32(v)
				}
			}
			for r := lo; r < hi; r++ {
				row := w.Data[r*rb : (r+1)*rb]
				var y float32
				for b := 0; b < nb; b++ {
					kernels.MatVecI2S(acc[:], row[b*bb:(b+1)*bb], q[b*ternary.TQBlock:(b+1)*ternary.TQBlock])
					y += float32(acc[0]-qs[b]) * w.BlockScales[r*nb+b]
				}
				out[t*rows+r] = y / a.scale[t] * l.scale
			}
		}
	})
}
