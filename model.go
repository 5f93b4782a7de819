package bitnet

import (
	"context"
	"fmt"
	"math"
	"unsafe"

	"github.com/org/bitnet/internal/kernels"
	"github.com/org/bitnet/internal/mmap"
	"github.com/org/bitnet/internal/parallel"
)

// ----------------------------------------------------------------------------
// The model: hyper-parameters, weights, and the forward pass of BitNet b1.58
// (FORMATS.md §1.3). Read forward() top to bottom.

// activation is the gate activation of the feed-forward block.
type activation int

const (
	actReLU2 activation = iota // relu(x)², BitNet b1.58 (2B4T)
	actSiLU                    // x·sigmoid(x), the 1bitLLM models
)

func (a activation) String() string {
	if a == actSiLU {
		return "silu"
	}
	return "relu2"
}

// config holds the hyper-parameters.
type config struct {
	arch      string
	dim       int // hidden width
	layers    int
	heads     int // query heads
	kvHeads   int // key/value heads (grouped-query attention)
	headDim   int
	ffn       int // feed-forward width
	vocab     int
	ctx       int // trained context length
	eps       float32
	ropeTheta float64
	ropeDim   int // rotated dimensions per head (NEOX pairs i, i+ropeDim/2)
	act       activation
}

func (c *config) qDim() int  { return c.heads * c.headDim }
func (c *config) kvDim() int { return c.kvHeads * c.headDim }

// info returns the ModelInfo fields that the hyper-parameters fix; the
// loaders add what depends on the file.
func (c *config) info() ModelInfo {
	return ModelInfo{
		Architecture:  c.arch,
		Activation:    c.act.String(),
		Hidden:        c.dim,
		Layers:        c.layers,
		Heads:         c.heads,
		KVHeads:       c.kvHeads,
		HeadDim:       c.headDim,
		FFN:           c.ffn,
		VocabSize:     c.vocab,
		ContextLength: c.ctx,
		RopeTheta:     c.ropeTheta,
	}
}

// layer holds one transformer block's weights.
type layer struct {
	attnNorm    []float32 // [dim]
	q, k, v     bitLinear // [qDim][dim], [kvDim][dim], [kvDim][dim]
	attnSubNorm []float32 // [qDim]
	o           bitLinear // [dim][qDim]
	ffnNorm     []float32 // [dim]
	gate, up    bitLinear // [ffn][dim]
	ffnSubNorm  []float32 // [ffn]
	down        bitLinear // [dim][ffn]
}

// weights holds every tensor of the model. Matrices are views into the
// mapped file where the format allows it.
type weights struct {
	embed      floatMatrix // [vocab][dim] token embeddings
	layers     []layer
	outputNorm []float32   // [dim]
	output     floatMatrix // [vocab][dim]: the tied embedding unless the file has output.weight
	ropeFreqs  []float32   // optional [ropeDim/2] frequency divisors
}

// loadLayers reads every layer's tensors by their GGUF names (blk.N.…),
// with vec for the norm gains and lin for the ternary projections
// ([rows][cols]).
func loadLayers(c *config, vec func(name string, n int) ([]float32, error), lin func(name string, rows, cols int) (bitLinear, error)) ([]layer, error) {
	layers := make([]layer, c.layers)
	var err error
	for i := range layers {
		ly, p := &layers[i], fmt.Sprintf("blk.%d.", i)
		v := func(dst *[]float32, n string, size int) {
			if err == nil {
				*dst, err = vec(p+n+".weight", size)
			}
		}
		l := func(dst *bitLinear, n string, rows, cols int) {
			if err == nil {
				*dst, err = lin(p+n+".weight", rows, cols)
			}
		}
		v(&ly.attnNorm, "attn_norm", c.dim)
		l(&ly.q, "attn_q", c.qDim(), c.dim)
		l(&ly.k, "attn_k", c.kvDim(), c.dim)
		l(&ly.v, "attn_v", c.kvDim(), c.dim)
		v(&ly.attnSubNorm, "attn_sub_norm", c.qDim())
		l(&ly.o, "attn_output", c.dim, c.qDim())
		v(&ly.ffnNorm, "ffn_norm", c.dim)
		l(&ly.gate, "ffn_gate", c.ffn, c.dim)
		l(&ly.up, "ffn_up", c.ffn, c.dim)
		v(&ly.ffnSubNorm, "ffn_sub_norm", c.ffn)
		l(&ly.down, "ffn_down", c.dim, c.ffn)
	}
	return layers, err
}

// runState is a session's scratch space for a batch of up to maxBatch tokens.
type runState struct {
	maxBatch int
	x        []float32 // [n][dim] residual stream
	xb       []float32 // [n][dim] normalized input of a block
	q        []float32 // [n][qDim]
	k, v     []float32 // [n][kvDim]
	att      []float32 // [n][qDim] attention output
	proj     []float32 // [n][dim] projection output
	g, u     []float32 // [n][ffn]
	acc      []int32   // integer sums: [Σrows][n] of the projections applied together
	actDim   *quantActs
	actQ     *quantActs // for o_proj's input (qDim)
	actFFN   *quantActs
	scores   [][]float32 // [part][ctx] attention scores
	cos, sin []float32   // [n][ropeDim/2]
	logits   []float32   // [n or 1][vocab]
	q16u     []uint8     // [dim] 16-bit activation planes for the int8 output matrix
	q16l     []uint8
	q16acc   []int32 // [2·vocab]

	// The bodies of the parallel loops, kept so that a token allocates
	// nothing.
	lin  linJob
	attn attnJob
	out  matVecJob
}

func newRunState(c *config, maxBatch, ctx, threads int, outputInt8 bool) *runState {
	pad := func(k int) int { return (k + 127) / 128 * 128 }
	s := &runState{
		maxBatch: maxBatch,
		x:        make([]float32, maxBatch*c.dim),
		xb:       make([]float32, maxBatch*c.dim),
		q:        make([]float32, maxBatch*c.qDim()),
		k:        make([]float32, maxBatch*c.kvDim()),
		v:        make([]float32, maxBatch*c.kvDim()),
		att:      make([]float32, maxBatch*c.qDim()),
		proj:     make([]float32, maxBatch*c.dim),
		g:        make([]float32, maxBatch*c.ffn),
		u:        make([]float32, maxBatch*c.ffn),
		acc:      make([]int32, maxBatch*max(c.dim, c.qDim()+2*c.kvDim(), 2*c.ffn)),
		actDim:   newQuantActs(maxBatch, pad(c.dim)),
		actQ:     newQuantActs(maxBatch, pad(c.qDim())),
		actFFN:   newQuantActs(maxBatch, pad(c.ffn)),
		cos:      make([]float32, maxBatch*c.ropeDim/2),
		sin:      make([]float32, maxBatch*c.ropeDim/2),
	}
	if outputInt8 {
		s.q16u, s.q16l = make([]uint8, c.dim), make([]uint8, c.dim)
		s.q16acc = make([]int32, 2*c.vocab)
	}
	s.scores = make([][]float32, threads)
	for i := range s.scores {
		s.scores[i] = make([]float32, ctx)
	}
	return s
}

// forward runs n = len(tokens) tokens at positions cache.n … cache.n+n−1
// through the model as one batch, appending their keys and values to the
// cache. It writes the logits of the last token, or of every token when
// all is set, into s.logits, and returns them. It checks ctx between layers.
func (m *Model) forward(ctx context.Context, s *runState, cache *kvCache, tokens []int, all bool) ([]float32, error) {
	c, w, pool := &m.cfg, &m.w, m.pool
	n, pos0 := len(tokens), cache.n
	dim, qDim, kvDim, ffn := c.dim, c.qDim(), c.kvDim(), c.ffn
	x := s.x[:n*dim]

	// Token embeddings.
	for t, tok := range tokens {
		w.embed.row(x[t*dim:(t+1)*dim], tok)
	}
	m.ropeTables(s, pos0, n)

	for l := range w.layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ly := &w.layers[l]

		// Attention: q, k, v from one quantization of the normalized input.
		rmsNorm(s.xb[:n*dim], x, ly.attnNorm, c.eps)
		s.actDim.quantize(s.xb[:n*dim], n)
		s.lin.apply(pool, s.actDim, s.acc, [3]*bitLinear{&ly.q, &ly.k, &ly.v}, [3][]float32{s.q[:n*qDim], s.k[:n*kvDim], s.v[:n*kvDim]}, 3)
		for t := 0; t < n; t++ {
			m.rope(s.q[t*qDim:(t+1)*qDim], c.heads, s, t)
			m.rope(s.k[t*kvDim:(t+1)*kvDim], c.kvHeads, s, t)
			cache.store(l, pos0+t, s.k[t*kvDim:(t+1)*kvDim], s.v[t*kvDim:(t+1)*kvDim])
		}
		m.attention(s, cache, l, pos0, n)

		// Sub-norm, then the output projection, added to the residual.
		rmsNorm(s.att[:n*qDim], s.att[:n*qDim], ly.attnSubNorm, c.eps)
		s.actQ.quantize(s.att[:n*qDim], n)
		s.lin.apply(pool, s.actQ, s.acc, [3]*bitLinear{&ly.o}, [3][]float32{s.proj[:n*dim]}, 1)
		kernels.Add(x, s.proj[:n*dim])

		// Feed-forward: down(subnorm(act(gate·f) ⊙ (up·f))).
		rmsNorm(s.xb[:n*dim], x, ly.ffnNorm, c.eps)
		s.actDim.quantize(s.xb[:n*dim], n)
		s.lin.apply(pool, s.actDim, s.acc, [3]*bitLinear{&ly.gate, &ly.up}, [3][]float32{s.g[:n*ffn], s.u[:n*ffn]}, 2)
		gateActivation(s.g[:n*ffn], s.u[:n*ffn], c.act)
		rmsNorm(s.g[:n*ffn], s.g[:n*ffn], ly.ffnSubNorm, c.eps)
		s.actFFN.quantize(s.g[:n*ffn], n)
		s.lin.apply(pool, s.actFFN, s.acc, [3]*bitLinear{&ly.down}, [3][]float32{s.proj[:n*dim]}, 1)
		kernels.Add(x, s.proj[:n*dim])
	}
	cache.n = pos0 + n

	// Final norm and the output matrix, in full precision.
	first := n - 1
	if all {
		first = 0
	}
	out := s.logits[:(n-first)*c.vocab]
	for t := first; t < n; t++ {
		xn := s.xb[t*dim : (t+1)*dim]
		rmsNorm(xn, x[t*dim:(t+1)*dim], w.outputNorm, c.eps)
		s.out.matVec(pool, &w.output, out[(t-first)*c.vocab:(t-first+1)*c.vocab], xn, s)
	}
	return out, nil
}

// rmsNorm sets out = w ⊙ x / sqrt(mean(x²) + eps) for each len(w)-long
// vector of x (the sum of squares in float64). out may be x.
func rmsNorm(out, x, w []float32, eps float32) {
	d := len(w)
	for i := 0; i+d <= len(x); i += d {
		xi := x[i : i+d : i+d]
		r := float32(1 / math.Sqrt(kernels.SumSquares(xi)/float64(d)+float64(eps)))
		kernels.ScaleMul(out[i:i+d:i+d], xi, w, r)
	}
}

// gateActivation sets g = act(g) ⊙ u.
func gateActivation(g, u []float32, act activation) {
	switch act {
	case actReLU2:
		kernels.ReLUSqMul(g, u)
	case actSiLU:
		u = u[:len(g)]
		for i, v := range g {
			g[i] = v / (1 + float32(math.Exp(-float64(v)))) * u[i]
		}
	}
}

// ropeTables fills s.cos and s.sin for positions pos0 … pos0+n−1:
// angle_i = p · θ^(−2i/ropeDim) (divided by rope_freqs[i] when present).
func (m *Model) ropeTables(s *runState, pos0, n int) {
	half := m.cfg.ropeDim / 2
	for t := 0; t < n; t++ {
		p := float64(pos0 + t)
		for i := 0; i < half; i++ {
			a := p * m.invFreq[i]
			s.cos[t*half+i] = float32(math.Cos(a))
			s.sin[t*half+i] = float32(math.Sin(a))
		}
	}
}

// rope rotates each head of v (NEOX style: pairs i and i+ropeDim/2) by the
// angles of batch token t.
func (m *Model) rope(v []float32, heads int, s *runState, t int) {
	hd, half := m.cfg.headDim, m.cfg.ropeDim/2
	cos, sin := s.cos[t*half:(t+1)*half], s.sin[t*half:(t+1)*half]
	for h := 0; h < heads; h++ {
		x := v[h*hd : h*hd+2*half]
		for i := 0; i < half; i++ {
			// Each product rounded (no fused multiply-add on any
			// architecture), so logits do not depend on the CPU.
			a, b := x[i], x[i+half]
			x[i] = float32(a*cos[i]) - float32(b*sin[i])
			x[i+half] = float32(b*cos[i]) + float32(a*sin[i])
		}
	}
}

// attention computes causal grouped-query attention for the n batch tokens
// at positions pos0…: query head h reads key/value head h/(heads/kvHeads).
// The work is split by (token, query head); consecutive query heads share a
// key/value head, whose positions are contiguous in the cache.
func (m *Model) attention(s *runState, cache *kvCache, l, pos0, n int) {
	s.attn = attnJob{m: m, s: s, cache: cache, l: l, pos0: pos0}
	m.pool.Run(n*m.cfg.heads, 1, &s.attn)
}

// attnJob is the body of attention's parallel loop over (token, head).
type attnJob struct {
	m       *Model
	s       *runState
	cache   *kvCache
	l, pos0 int
}

func (j *attnJob) Run(part, lo, hi int) {
	c, s := &j.m.cfg, j.s
	hd, qDim := c.headDim, c.qDim()
	group := c.heads / c.kvHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	scores := s.scores[part]
	for i := lo; i < hi; i++ {
		t, h := i/c.heads, i%c.heads
		span := j.pos0 + t + 1
		q := s.q[t*qDim+h*hd : t*qDim+(h+1)*hd]
		keys, values := j.cache.keys(j.l, h/group), j.cache.values(j.l, h/group)
		sc := scores[:span]
		kernels.MatVecF32(sc, keys[:span*hd], q)
		for p := range sc {
			sc[p] *= scale
		}
		softmaxInPlace(sc)
		kernels.WeightedSumF32(s.att[t*qDim+h*hd:t*qDim+(h+1)*hd], sc, values[:span*hd], hd)
	}
}

// softmaxInPlace sets x to softmax(x).
func softmaxInPlace(x []float32) {
	maxV := float32(math.Inf(-1))
	for _, v := range x {
		maxV = max(maxV, v)
	}
	var sum float32
	for j, v := range x {
		e := float32(math.Exp(float64(v - maxV)))
		x[j] = e
		sum += e
	}
	inv := 1 / sum
	for j := range x {
		x[j] *= inv
	}
}

// floatMatrix is a full-precision matrix (embedding or output) stored as
// F32, F16 or BF16 rows of cols values.
type floatMatrix struct {
	rows, cols int
	f32        []float32
	f16        []uint16 // IEEE half
	bf16       []uint16
	// The opt-in int8 copy (WithOutputInt8): rows of int8 with a scale and
	// the integer sum of each row. Used by matVec instead of the above.
	q8      []int8
	q8Scale []float32
	q8Sum   []int32
}

// bytes returns the matrix's storage as bytes.
func (fm *floatMatrix) bytes() []byte {
	switch {
	case fm.f16 != nil:
		return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(fm.f16))), 2*len(fm.f16))
	case fm.bf16 != nil:
		return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(fm.bf16))), 2*len(fm.bf16))
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(fm.f32))), 4*len(fm.f32))
}

// typeName names the storage of the matrix.
func (fm *floatMatrix) typeName() string {
	switch {
	case fm.q8 != nil:
		return "Q8 (int8, a scale per row)"
	case fm.f16 != nil:
		return "F16"
	case fm.bf16 != nil:
		return "BF16"
	}
	return "F32"
}

// quantizeInt8 builds the int8 copy of the matrix, splitting the rows over
// the pool. The copy goes into r's arena when there is one.
func (fm *floatMatrix) quantizeInt8(pool *parallel.Pool, r *residency) error {
	q := &floatMatrix{rows: fm.rows, cols: fm.cols}
	if r != nil {
		var mem [3][]byte
		for i, n := range []int{fm.rows * fm.cols, 4 * fm.rows, 4 * fm.rows} {
			var err error
			if mem[i], err = r.alloc(n); err != nil {
				return err
			}
		}
		q.q8 = unsafeSlice[int8](mem[0])
		q.q8Scale = unsafeSlice[float32](mem[1])
		q.q8Sum = unsafeSlice[int32](mem[2])
	} else {
		q.q8 = make([]int8, fm.rows*fm.cols)
		q.q8Scale = make([]float32, fm.rows)
		q.q8Sum = make([]int32, fm.rows)
	}
	// The source rows are read once: their pages are given back as the
	// work goes (they are read again from the file for the few embedding
	// rows a prompt looks up), so the copy does not add to the peak memory.
	src := fm.bytes()
	rowBytes := len(src) / fm.rows
	pool.For(fm.rows, 1024, func(_, lo, hi int) {
		row := make([]float32, fm.cols)
		for r := lo; r < hi; r++ {
			fm.row(row, r)
			q.q8Scale[r], q.q8Sum[r] = kernels.QuantizeRowI8(q.q8[r*fm.cols:(r+1)*fm.cols], row)
			if done := r + 1; done%1024 == 0 || done == hi {
				start := max(lo, done-1024)
				mmap.ReleaseMapped(src[start*rowBytes : done*rowBytes])
			}
		}
	})
	*fm = *q
	return nil
}

// unsafeSlice views b as a slice of T (b is aligned for T).
func unsafeSlice[T any](b []byte) []T {
	var zero T
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/int(unsafe.Sizeof(zero)))
}

// row converts row r into dst.
func (fm *floatMatrix) row(dst []float32, r int) {
	switch {
	case fm.f16 != nil:
		kernels.F16ToF32Row(dst[:fm.cols], fm.f16[r*fm.cols:(r+1)*fm.cols])
	case fm.bf16 != nil:
		for j, h := range fm.bf16[r*fm.cols : (r+1)*fm.cols] {
			dst[j] = kernels.BF16ToF32(h)
		}
	default:
		copy(dst, fm.f32[r*fm.cols:(r+1)*fm.cols])
	}
}

// matVecJob is the body of the output matrix's parallel loop: dst = M·x.
type matVecJob struct {
	fm     *floatMatrix
	dst, x []float32
	s      *runState
	qs     float32 // scale of the 16-bit activations (int8 matrix)
}

// matVec sets dst = M·x, splitting the rows over the pool. s is scratch
// for the int8 matrix.
func (j *matVecJob) matVec(pool *parallel.Pool, fm *floatMatrix, dst, x []float32, s *runState) {
	*j = matVecJob{fm: fm, dst: dst, x: x, s: s}
	if fm.q8 != nil {
		j.qs = kernels.QuantizeQ16(s.q16u, s.q16l, x)
	}
	pool.Run(fm.rows, 64, j)
}

func (j *matVecJob) Run(_, lo, hi int) {
	fm, dst, x, s := j.fm, j.dst, j.x, j.s
	k := fm.cols
	switch {
	case fm.q8 != nil:
		kernels.MatVecQ8(dst[lo:hi], fm.q8[lo*k:hi*k], fm.q8Scale[lo:hi], fm.q8Sum[lo:hi], s.q16u, s.q16l, j.qs, s.q16acc[2*lo:2*hi])
	case fm.f16 != nil:
		kernels.MatVecF16(dst[lo:hi], fm.f16[lo*k:hi*k], x)
	case fm.bf16 != nil:
		kernels.MatVecBF16(dst[lo:hi], fm.bf16[lo*k:hi*k], x)
	default:
		kernels.MatVecF32(dst[lo:hi], fm.f32[lo*k:hi*k], x)
	}
}
