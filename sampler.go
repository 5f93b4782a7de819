package bitnet

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Sampling: choosing the next token from the logits.
//
// Every step is a pure function that a test can call alone. The steps that
// filter work on a []candidate (a token id and its logit) and return the
// candidates they keep; the sampler type chains them in llama.cpp's order
// (FORMATS.md §5):
//
//	penalties → top-k → top-p → min-p → temperature → softmax → draw
//
// and keeps its buffers between tokens, so that sampling allocates nothing
// in the steady state. With the default options a 128256-token vocabulary
// costs one pass over the logits (a k-element heap), then work on k
// candidates only.

// defaultRepeatLastN is the penalty window when GenerateOptions.RepeatLastN
// is 0.
const defaultRepeatLastN = 64

// A candidate is a token that may still be drawn.
type candidate struct {
	id    int32
	logit float32
	prob  float32 // set by softmax
}

// better reports whether a ranks before b: a higher logit, or the same logit
// and a lower id. It is a strict total order on candidates with distinct ids
// and no NaN logits.
func better(a, b candidate) bool {
	return a.logit > b.logit || a.logit == b.logit && a.id < b.id
}

// cmpCandidates orders candidates best first, for slices.SortFunc.
func cmpCandidates(a, b candidate) int {
	switch {
	case better(a, b):
		return -1
	case better(b, a):
		return 1
	}
	return 0
}

// applyPenalties applies the repeat, presence and frequency penalties to
// logits in place, with llama.cpp's arithmetic. For each distinct token id t
// in recent (ids outside logits are ignored), occurring count times:
//
//	if logits[t] > 0 { logits[t] /= repeat } else { logits[t] *= repeat }
//	logits[t] -= float32(count)*frequency + presence
//
// The repeat step is skipped when repeat is 1, 0, negative or NaN. Nothing
// happens when all three penalties are off. recent is the window itself: the
// caller chooses how many recent tokens to pass.
func applyPenalties(logits []float32, recent []int, repeat, presence, frequency float32) {
	penalize(logits, recent, repeat, presence, frequency, nil)
}

// penalize is applyPenalties with a scratch buffer for counting; it returns
// the buffer for reuse.
func penalize(logits []float32, recent []int, repeat, presence, frequency float32, scratch []int) []int {
	useRepeat := repeatPenaltyOn(repeat)
	if !useRepeat && presence == 0 && frequency == 0 || len(recent) == 0 {
		return scratch
	}
	scratch = append(scratch[:0], recent...)
	slices.Sort(scratch)
	for i := 0; i < len(scratch); {
		id := scratch[i]
		j := i + 1
		for j < len(scratch) && scratch[j] == id {
			j++
		}
		count := j - i
		i = j
		if id < 0 || id >= len(logits) {
			continue
		}
		l := logits[id]
		if useRepeat {
			if l > 0 {
				l /= repeat
			} else {
				l *= repeat
			}
		}
		l -= float32(count)*frequency + presence
		logits[id] = l
	}
	return scratch
}

// repeatPenaltyOn reports whether a repeat penalty changes anything.
func repeatPenaltyOn(repeat float32) bool {
	return repeat > 0 && repeat != 1
}

// argmax returns the index of the highest logit, the lowest index on a tie.
// NaN logits are never chosen; when every logit is NaN it returns 0.
func argmax(logits []float32) int {
	// One pass in blocks: the maximum of a block, and only when it beats
	// the best so far, its first index.
	const block = 256
	best, bestL := -1, float32(math.Inf(-1))
	for start := 0; start < len(logits); start += block {
		b := logits[start:min(start+block, len(logits))]
		if m := maxOf(b); m > bestL {
			best, bestL = start+slices.Index(b, m), m
		}
	}
	if best < 0 { // nothing above -Inf
		best = max(slices.Index(logits, bestL), 0)
	}
	return best
}

// maxOf returns the highest value of x that is not NaN (-Inf for none).
func maxOf(x []float32) float32 {
	// Four running maxima, so that the compare-and-move chains run side by
	// side.
	m0 := float32(math.Inf(-1))
	m1, m2, m3 := m0, m0, m0
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		if v[0] > m0 { // false for NaN
			m0 = v[0]
		}
		if v[1] > m1 {
			m1 = v[1]
		}
		if v[2] > m2 {
			m2 = v[2]
		}
		if v[3] > m3 {
			m3 = v[3]
		}
	}
	for _, v := range x[i:] {
		if v > m0 {
			m0 = v
		}
	}
	return max(m0, m1, m2, m3)
}

// fillCandidates writes one candidate per logit into dst (grown if needed)
// and returns it, in id order. A NaN logit becomes -Inf.
func fillCandidates(dst []candidate, logits []float32) []candidate {
	if cap(dst) < len(logits) {
		dst = make([]candidate, len(logits))
	}
	dst = dst[:len(logits)]
	for i, l := range logits {
		if l != l {
			l = float32(math.Inf(-1))
		}
		dst[i] = candidate{id: int32(i), logit: l}
	}
	return dst
}

// topKLogits returns the k best tokens of logits as candidates sorted best
// first (ties to the lower id), written into dst (grown if needed). It is
// topK(fillCandidates(dst, logits), k) in one pass over the logits with a
// k-element heap, and is meant for 0 < k < len(logits). NaN logits rank
// below every other.
func topKLogits(dst []candidate, logits []float32, k int) []candidate {
	k = min(k, len(logits))
	if k <= 0 {
		return dst[:0]
	}
	if cap(dst) < k {
		dst = make([]candidate, k)
	}
	h := dst[:k]
	for i, l := range logits[:k] {
		if l != l {
			l = float32(math.Inf(-1))
		}
		h[i] = candidate{id: int32(i), logit: l}
	}
	// A heap with the worst candidate at the root.
	for i := k/2 - 1; i >= 0; i-- {
		siftDownWorst(h, i)
	}
	// Later ids lose ties, so a logit must beat the root's strictly. NaN
	// never does.
	thr := h[0].logit
	for i := k; i < len(logits); i++ {
		if l := logits[i]; l > thr {
			h[0] = candidate{id: int32(i), logit: l}
			siftDownWorst(h, 0)
			thr = h[0].logit
		}
	}
	slices.SortFunc(h, cmpCandidates)
	return h
}

// siftDownWorst restores the heap property (every parent ranks after its
// children) below index i.
func siftDownWorst(h []candidate, i int) {
	n := len(h)
	for {
		w := i
		l, r := 2*i+1, 2*i+2
		if l < n && better(h[w], h[l]) {
			w = l
		}
		if r < n && better(h[w], h[r]) {
			w = r
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// topK keeps the k best candidates: it reorders c and returns c[:k] sorted
// best first (the higher logit; the lower id on a tie). k <= 0 or
// k >= len(c) turns it off: c is returned as it is.
func topK(c []candidate, k int) []candidate {
	if k <= 0 || k >= len(c) {
		return c
	}
	partialSort(c, k)
	return c[:k]
}

// partialSort reorders c so that c[:m] holds its m best candidates, sorted
// best first; the rest follow in no particular order. It takes expected
// O(len(c) + m log m) time.
func partialSort(c []candidate, m int) {
	if m <= 0 {
		return
	}
	if m < len(c) {
		selectBest(c, m)
	}
	slices.SortFunc(c[:min(m, len(c))], cmpCandidates)
}

// selectBest reorders c so that every candidate of c[:m] ranks before every
// candidate of c[m:]: with a heap of m candidates when m is small next to
// len(c) (one cheap pass), else by quickselect with a median-of-three pivot.
func selectBest(c []candidate, m int) {
	if m <= 0 || m >= len(c) {
		return
	}
	if m <= 256 && len(c) >= 16*m {
		h := c[:m]
		for i := m/2 - 1; i >= 0; i-- {
			siftDownWorst(h, i)
		}
		for i := m; i < len(c); i++ {
			if better(c[i], h[0]) {
				h[0], c[i] = c[i], h[0]
				siftDownWorst(h, 0)
			}
		}
		return
	}
	lo, hi := 0, len(c)
	for hi-lo > 12 {
		mid := lo + (hi-lo)/2
		p := medianOf3(c[lo], c[mid], c[hi-1])
		i, j := lo, hi-1
		for i <= j {
			for better(c[i], p) {
				i++
			}
			for better(p, c[j]) {
				j--
			}
			if i <= j {
				c[i], c[j] = c[j], c[i]
				i++
				j--
			}
		}
		// Now c[lo:j+1] rank before c[j+1:i], which rank before c[i:hi].
		switch {
		case m < j+1:
			hi = j + 1
		case m > i:
			lo = i
		default:
			return
		}
	}
	slices.SortFunc(c[lo:hi], cmpCandidates)
}

// medianOf3 returns the middle one of a, b and c in rank order.
func medianOf3(a, b, c candidate) candidate {
	if better(b, a) {
		a, b = b, a
	}
	// a ranks before b.
	if better(c, a) {
		return a
	}
	if better(c, b) {
		return c
	}
	return b
}

// maxLogit returns the highest logit of c (-Inf for none).
func maxLogit(c []candidate) float32 {
	m := float32(math.Inf(-1))
	for _, x := range c {
		if x.logit > m {
			m = x.logit
		}
	}
	return m
}

// topP keeps the smallest set of the best candidates whose probabilities
// (the softmax of the logits of all of c) sum to at least p, reordering c and
// returning that set sorted best first, as llama.cpp's top-p does. It sorts
// only as far as needed: the best 64, then 256, 1024, ... p outside (0, 1)
// turns it off: c is returned as it is. It keeps at least one candidate.
func topP(c []candidate, p float32) []candidate {
	if !(p > 0 && p < 1) || len(c) <= 1 {
		return c
	}
	maxl := maxLogit(c)
	return topPNormalized(c, p, maxl, expSum(c, maxl))
}

// expSum returns the sum of exp(logit - maxl) over c.
func expSum(c []candidate, maxl float32) float64 {
	var z float64
	for _, x := range c {
		z += math.Exp(float64(x.logit - maxl))
	}
	return z
}

// topPNormalized is topP with the probabilities exp(logit - maxl) / z given
// by the caller, who may have computed maxl and z over a larger set that c
// was filtered from; when the probabilities of c sum to less than p, all of c
// is kept (sorted).
func topPNormalized(c []candidate, p float32, maxl float32, z float64) []candidate {
	target := float64(p) * z
	var cum float64
	sorted, m := 0, 64
	for {
		m = min(m, len(c))
		partialSort(c[sorted:], m-sorted)
		for i := sorted; i < m; i++ {
			cum += math.Exp(float64(c[i].logit - maxl))
			if cum >= target {
				return c[:i+1]
			}
		}
		if m == len(c) {
			return c
		}
		sorted, m = m, 4*m
	}
}

// minP keeps the candidates whose probability is at least p times the
// highest one, that is whose logit is at least maxLogit(c) + ln(p). It
// filters c in place, keeping the order (so a sorted c stays sorted), and
// returns the kept part; the best candidate always stays. p <= 0 (or NaN)
// turns it off.
func minP(c []candidate, p float32) []candidate {
	if !(p > 0) || len(c) <= 1 {
		return c
	}
	maxl := maxLogit(c)
	thr := maxl + float32(math.Log(float64(p)))
	if p >= 1 {
		thr = maxl
	}
	n := 0
	for _, x := range c {
		if x.logit >= thr {
			c[n] = x
			n++
		}
	}
	if n == 0 { // every logit is NaN or -Inf with no finite maximum
		return c[:1]
	}
	return c[:n]
}

// temperature divides every logit by t, which must be positive: below 1 it
// sharpens the distribution, above 1 it flattens it.
func temperature(c []candidate, t float32) {
	for i := range c {
		c[i].logit /= t
	}
}

// softmax sets each candidate's prob to exp(logit) normalized over c. When
// some logits are +Inf they share the whole probability; when all are -Inf
// the probabilities are equal.
func softmax(c []candidate) {
	if len(c) == 0 {
		return
	}
	maxl := maxLogit(c)
	if math.IsInf(float64(maxl), 0) {
		n := 0
		for _, x := range c {
			if x.logit == maxl {
				n++
			}
		}
		for i := range c {
			c[i].prob = 0
			if c[i].logit == maxl {
				c[i].prob = 1 / float32(n)
			}
		}
		return
	}
	var sum float64
	for i := range c {
		e := math.Exp(float64(c[i].logit - maxl))
		c[i].prob = float32(e)
		sum += e
	}
	inv := 1 / sum
	for i := range c {
		c[i].prob = float32(float64(c[i].prob) * inv)
	}
}

// draw returns the id of the candidate that a uniform u in [0, 1) selects
// from the probabilities (set by softmax): the first one where the running
// sum of probabilities exceeds u times their total. c must not be empty.
func draw(c []candidate, u float64) int {
	var total float64
	for _, x := range c {
		total += float64(x.prob)
	}
	target := u * total
	var cum float64
	for _, x := range c {
		cum += float64(x.prob)
		if target < cum {
			return int(x.id)
		}
	}
	// Rounding left the target at the very end: take the last candidate
	// that can be drawn at all.
	for i := len(c) - 1; i > 0; i-- {
		if c[i].prob > 0 {
			return int(c[i].id)
		}
	}
	return int(c[0].id)
}

// A sampler chooses tokens for one generation, with the settings of a
// GenerateOptions and its own random source. It is not safe for concurrent
// use.
type sampler struct {
	temperature float32 // <= 0: greedy
	topK        int     // <= 0: off
	topP        float32 // outside (0, 1): off
	minP        float32 // <= 0: off
	repeat      float32 // see repeatPenaltyOn
	presence    float32
	frequency   float32
	lastN       int // < 0: the whole history
	penalties   bool

	rng *rand.Rand // nil when greedy

	cands  []candidate // reused candidate buffer
	logits []float32   // reused copy of the logits, for the penalties
	counts []int       // reused scratch for the penalties
}

// newSampler returns a sampler for opts; nil opts means
// DefaultGenerateOptions(). Out-of-range settings turn that setting off, as
// GenerateOptions documents. Seed 0 draws a random seed.
func newSampler(opts *GenerateOptions) *sampler {
	o := DefaultGenerateOptions()
	if opts != nil {
		o = *opts
	}
	finite := func(f float32) float32 {
		if f != f || math.IsInf(float64(f), 0) {
			return 0
		}
		return f
	}
	s := &sampler{
		temperature: finite(o.Temperature),
		topK:        o.TopK,
		topP:        finite(o.TopP),
		minP:        finite(o.MinP),
		repeat:      finite(o.RepeatPenalty),
		presence:    finite(o.PresencePenalty),
		frequency:   finite(o.FrequencyPenalty),
		lastN:       o.RepeatLastN,
	}
	if s.lastN == 0 {
		s.lastN = defaultRepeatLastN
	}
	s.penalties = repeatPenaltyOn(s.repeat) || s.presence != 0 || s.frequency != 0
	if s.temperature > 0 {
		seed := o.Seed
		if seed == 0 {
			seed = rand.Uint64()
		}
		s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	}
	if s.penalties && s.lastN > 0 {
		s.counts = make([]int, 0, s.lastN)
	}
	return s
}

// window returns the part of recent that the penalties look at.
func (s *sampler) window(recent []int) []int {
	if s.lastN < 0 || s.lastN >= len(recent) {
		return recent
	}
	return recent[len(recent)-s.lastN:]
}

// sample chooses the next token from logits (one per vocabulary entry).
// recent is the token history so far, the prompt's included, oldest first;
// the penalties look at its last RepeatLastN tokens. sample does not modify
// logits or recent, and after the first calls it allocates nothing.
//
// The steps: the penalties (on a copy of the logits); then, when greedy,
// the highest logit (the lowest id on a tie); else top-k, top-p, min-p, the
// temperature and a draw from the softmax of what is left.
func (s *sampler) sample(logits []float32, recent []int) int {
	if len(logits) == 0 {
		panic("bitnet: sample with no logits")
	}
	if s.penalties {
		s.logits = append(s.logits[:0], logits...)
		s.counts = penalize(s.logits, s.window(recent), s.repeat, s.presence, s.frequency, s.counts)
		logits = s.logits
	}
	if s.rng == nil {
		return argmax(logits)
	}
	c := s.filter(logits)
	temperature(c, s.temperature)
	softmax(c)
	return draw(c, s.rng.Float64())
}

// filter returns the candidates that top-k, top-p and min-p keep, in the
// sampler's buffer.
func (s *sampler) filter(logits []float32) []candidate {
	var c []candidate
	topKOn := s.topK > 0 && s.topK < len(logits)
	if topKOn {
		c = topKLogits(s.cands, logits, s.topK)
	} else {
		c = fillCandidates(s.cands, logits)
	}
	if cap(c) > cap(s.cands) {
		s.cands = c[:0]
	}
	topPOn := s.topP > 0 && s.topP < 1
	if !topKOn && topPOn && s.minP > 0 && len(c) > 1 {
		// Both filters keep a prefix of the sorted candidates, and min-p's
		// threshold depends only on the highest logit, so top-p then min-p
		// keeps the shorter prefix of the two either way. Filtering by min-p
		// first (one pass, no sorting) leaves top-p only a few candidates to
		// sort, as long as it uses the probabilities over all of them.
		maxl := maxLogit(c)
		z := expSum(c, maxl)
		c = minP(c, s.minP)
		return topPNormalized(c, s.topP, maxl, z)
	}
	c = topP(c, s.topP)
	return minP(c, s.minP)
}
