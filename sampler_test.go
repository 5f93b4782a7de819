package bitnet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var posInf32 = float32(math.Inf(1))

// candsOf makes candidates with ids 0, 1, ... from logits.
func candsOf(logits ...float32) []candidate {
	return fillCandidates(nil, logits)
}

// candIDs returns the ids of c in order.
func candIDs(c []candidate) []int {
	out := make([]int, len(c))
	for i, x := range c {
		out[i] = int(x.id)
	}
	return out
}

// logitsOfProbs returns logits whose softmax is probs.
func logitsOfProbs(probs ...float64) []float32 {
	out := make([]float32, len(probs))
	for i, p := range probs {
		out[i] = float32(math.Log(p))
	}
	return out
}

// randomLogits returns n logits with many ties (integers in [-levels, levels])
// when levels > 0, else normally distributed ones.
func randomLogits(r *rand.Rand, n, levels int) []float32 {
	out := make([]float32, n)
	for i := range out {
		if levels > 0 {
			out[i] = float32(r.IntN(2*levels+1) - levels)
		} else {
			out[i] = float32(r.NormFloat64() * 3)
		}
	}
	return out
}

// zipfLogits returns n logits shaped like a language model's: a few likely
// tokens and a long tail, at random positions.
func zipfLogits(r *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for rank, id := range r.Perm(n) {
		out[id] = float32(12 - 2.5*math.Log(float64(rank+1)) + 0.3*r.NormFloat64())
	}
	return out
}

func TestDefaultGenerateOptions(t *testing.T) {
	o := DefaultGenerateOptions()
	assert.Equal(t, GenerateOptions{
		Temperature:   0.8,
		TopK:          40,
		TopP:          0.95,
		MinP:          0.05,
		RepeatPenalty: 1,
		RepeatLastN:   64,
	}, o)
	s := newSampler(nil)
	assert.Equal(t, float32(0.8), s.temperature)
	assert.Equal(t, 40, s.topK)
	assert.False(t, s.penalties)
}

func TestStopReasonString(t *testing.T) {
	for r, want := range map[StopReason]string{
		StopEOS:         "eos",
		StopMaxTokens:   "max tokens",
		StopString:      "stop string",
		StopContextFull: "context full",
		StopReason(9):   "StopReason(9)",
	} {
		assert.Equal(t, want, r.String())
	}
}

func TestApplyPenalties(t *testing.T) {
	tests := []struct {
		name                        string
		logits                      []float32
		recent                      []int
		repeat, presence, frequency float32
		want                        []float32
	}{
		{"off", []float32{1, -1, 2}, []int{0, 1}, 1, 0, 0, []float32{1, -1, 2}},
		{"repeat zero is off", []float32{1, -1, 2}, []int{0, 1}, 0, 0, 0, []float32{1, -1, 2}},
		{"no history", []float32{1, -1, 2}, nil, 2, 1, 1, []float32{1, -1, 2}},
		{"repeat divides positive, multiplies negative",
			[]float32{4, -4, 4, 0}, []int{0, 1, 3}, 2, 0, 0, []float32{2, -8, 4, 0}},
		{"repeat counts once per distinct token",
			[]float32{4, -4}, []int{0, 0, 0, 1, 1}, 2, 0, 0, []float32{2, -8}},
		{"presence once per distinct token",
			[]float32{4, -4, 1}, []int{0, 0, 0, 1}, 1, 0.5, 0, []float32{3.5, -4.5, 1}},
		{"frequency per occurrence",
			[]float32{4, -4, 1}, []int{0, 0, 0, 1}, 1, 0, 0.5, []float32{2.5, -4.5, 1}},
		{"all three: repeat first, then count*frequency + presence",
			[]float32{6, -2, 1}, []int{1, 0, 1}, 1.5, 0.25, 1, []float32{6/1.5 - 1 - 0.25, -2*1.5 - 2 - 0.25, 1}},
		{"ids outside the vocabulary are ignored",
			[]float32{4, 4}, []int{-1, 7, 1}, 2, 0, 0, []float32{4, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Clone(tt.logits)
			applyPenalties(got, tt.recent, tt.repeat, tt.presence, tt.frequency)
			assert.InDeltaSlice(t, tt.want, got, 1e-6)
		})
	}
}

func TestArgmax(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		logits []float32
		want   int
	}{
		{[]float32{1}, 0},
		{[]float32{1, 3, 2}, 1},
		{[]float32{3, 1, 3}, 0},
		{[]float32{-5, -2, -2, -7}, 1},
		{[]float32{nan, 1, nan, 2}, 3},
		{[]float32{nan, nan}, 0},
		{[]float32{-posInf32, -posInf32, -1}, 2},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, argmax(tt.logits), "%v", tt.logits)
	}
	// Against a plain loop, on lengths around the block size, with ties and
	// NaN.
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{1, 3, 255, 256, 257, 1000, 5003} {
		for range 20 {
			logits := randomLogits(r, n, 1+r.IntN(5))
			for range r.IntN(4) {
				logits[r.IntN(n)] = nan
			}
			want := -1
			for i, l := range logits {
				if l == l && (want < 0 || l > logits[want]) {
					want = i
				}
			}
			require.Equal(t, max(want, 0), argmax(logits), "n=%d", n)
		}
	}
}

func TestTopK(t *testing.T) {
	tests := []struct {
		name   string
		logits []float32
		k      int
		want   []int
	}{
		{"best first", []float32{1, 5, 3, 4, 2}, 3, []int{1, 3, 2}},
		{"ties to the lower id", []float32{2, 7, 7, 2, 7}, 2, []int{1, 2}},
		{"ties across the cut", []float32{1, 3, 3, 3}, 2, []int{1, 2}},
		{"one", []float32{1, 5, 5}, 1, []int{1}},
		{"k 0 is off", []float32{1, 5, 3}, 0, []int{0, 1, 2}},
		{"k >= n is off", []float32{1, 5, 3}, 3, []int{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, candIDs(topK(candsOf(tt.logits...), tt.k)))
			if tt.k > 0 && tt.k < len(tt.logits) {
				assert.Equal(t, tt.want, candIDs(topKLogits(nil, tt.logits, tt.k)))
			}
		})
	}
}

// TestPartialSort checks topK, topKLogits and partialSort against a full
// sort on random logits with and without ties.
func TestPartialSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 5, 13, 100, 1000, 5000} {
		for _, levels := range []int{0, 1, 3, 50} {
			logits := randomLogits(r, n, levels)
			want := candsOf(logits...)
			slices.SortFunc(want, cmpCandidates)
			for _, k := range []int{1, 2, 7, 40, 64, n - 1, n} {
				if k < 1 || k > n {
					continue
				}
				name := fmt.Sprintf("n=%d/levels=%d/k=%d", n, levels, k)
				c := candsOf(logits...)
				partialSort(c, k)
				require.Equal(t, candIDs(want[:k]), candIDs(c[:k]), name)
				rest := candIDs(c[k:])
				slices.Sort(rest)
				wantRest := candIDs(want[k:])
				slices.Sort(wantRest)
				require.Equal(t, wantRest, rest, name)
				if k < n {
					require.Equal(t, candIDs(want[:k]), candIDs(topK(candsOf(logits...), k)), name)
					require.Equal(t, candIDs(want[:k]), candIDs(topKLogits(nil, logits, k)), name)
				}
			}
		}
	}
}

func TestTopP(t *testing.T) {
	tests := []struct {
		name  string
		probs []float64
		p     float32
		want  []int
	}{
		{"first alone reaches p", []float64{0.1, 0.6, 0.3}, 0.5, []int{1}},
		{"two", []float64{0.1, 0.6, 0.3}, 0.7, []int{1, 2}},
		{"all", []float64{0.1, 0.6, 0.3}, 0.95, []int{1, 2, 0}},
		{"just above a sum", []float64{0.5, 0.3, 0.15, 0.05}, 0.81, []int{0, 1, 2}},
		{"just below a sum", []float64{0.5, 0.3, 0.15, 0.05}, 0.79, []int{0, 1}},
		{"0 is off", []float64{0.1, 0.6, 0.3}, 0, []int{0, 1, 2}},
		{"1 is off", []float64{0.1, 0.6, 0.3}, 1, []int{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, candIDs(topP(candsOf(logitsOfProbs(tt.probs...)...), tt.p)))
		})
	}
}

// TestTopPLarge checks top-p where the kept set crosses the partial sort's
// steps, against a full sort.
func TestTopPLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, levels := range []int{0, 2} {
		logits := randomLogits(r, 20000, levels)
		for _, p := range []float32{0.001, 0.1, 0.5, 0.9, 0.999} {
			want := candsOf(logits...)
			slices.SortFunc(want, cmpCandidates)
			maxl := want[0].logit
			var z float64
			for _, x := range want {
				z += math.Exp(float64(x.logit - maxl))
			}
			var cum float64
			n := len(want)
			for i, x := range want {
				cum += math.Exp(float64(x.logit - maxl))
				if cum >= float64(p)*z {
					n = i + 1
					break
				}
			}
			got := topP(candsOf(logits...), p)
			assert.Equal(t, candIDs(want[:n]), candIDs(got), "levels=%d p=%v", levels, p)
		}
	}
}

func TestMinP(t *testing.T) {
	tests := []struct {
		name  string
		probs []float64
		p     float32
		want  []int
	}{
		{"relative to the most likely", []float64{0.05, 0.5, 0.2, 0.25}, 0.45, []int{1, 3}},
		{"three", []float64{0.05, 0.5, 0.2, 0.25}, 0.39, []int{1, 2, 3}},
		{"order kept", []float64{0.25, 0.2, 0.5, 0.05}, 0.2, []int{0, 1, 2}},
		{"1 keeps the best", []float64{0.3, 0.4, 0.3}, 1, []int{1}},
		{"0 is off", []float64{0.01, 0.98, 0.01}, 0, []int{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, candIDs(minP(candsOf(logitsOfProbs(tt.probs...)...), tt.p)))
		})
	}
}

func TestTemperatureAndSoftmax(t *testing.T) {
	c := candsOf(logitsOfProbs(0.5, 0.25, 0.25)...)
	softmax(c)
	assert.InDelta(t, 0.5, c[0].prob, 1e-6)
	assert.InDelta(t, 0.25, c[1].prob, 1e-6)

	// Temperature T raises each probability to the power 1/T, renormalized.
	for _, temp := range []float32{0.5, 2} {
		c := candsOf(logitsOfProbs(0.5, 0.25, 0.25)...)
		temperature(c, temp)
		softmax(c)
		a, b := math.Pow(0.5, 1/float64(temp)), math.Pow(0.25, 1/float64(temp))
		assert.InDelta(t, a/(a+2*b), c[0].prob, 1e-6, "T=%v", temp)
		assert.InDelta(t, b/(a+2*b), c[1].prob, 1e-6, "T=%v", temp)
	}

	c = candsOf(2, 4)
	temperature(c, 2)
	assert.Equal(t, []float32{1, 2}, []float32{c[0].logit, c[1].logit})

	c = candsOf(1, posInf32, 3, posInf32)
	softmax(c)
	assert.Equal(t, []float32{0, 0.5, 0, 0.5}, []float32{c[0].prob, c[1].prob, c[2].prob, c[3].prob})
	c = candsOf(-posInf32, -posInf32)
	softmax(c)
	assert.Equal(t, []float32{0.5, 0.5}, []float32{c[0].prob, c[1].prob})
	c = candsOf(0, 1000, -1000)
	softmax(c)
	assert.Equal(t, []float32{0, 1, 0}, []float32{c[0].prob, c[1].prob, c[2].prob})
}

func TestDraw(t *testing.T) {
	c := candsOf(logitsOfProbs(0.5, 0.25, 0.25)...)
	softmax(c)
	tests := []struct {
		u    float64
		want int
	}{{0, 0}, {0.49, 0}, {0.51, 1}, {0.74, 1}, {0.76, 2}, {0.999999, 2}}
	for _, tt := range tests {
		assert.Equal(t, tt.want, draw(c, tt.u), "u=%v", tt.u)
	}
	c = candsOf(5, -posInf32)
	softmax(c)
	assert.Equal(t, 0, draw(c, math.Nextafter(1, 0)))
}

func TestSamplerGreedy(t *testing.T) {
	logits := []float32{1, 3, 3, 2}
	opts := DefaultGenerateOptions()
	opts.Temperature = 0
	s := newSampler(&opts)
	for range 5 {
		assert.Equal(t, 1, s.sample(logits, nil))
	}
	// A zero GenerateOptions is greedy too, and so are a negative or NaN
	// temperature.
	nan := float32(math.NaN())
	for _, o := range []GenerateOptions{{}, {Temperature: -1, TopK: 2}, {Temperature: nan}} {
		assert.Equal(t, 1, newSampler(&o).sample(logits, nil), "%+v", o)
	}
	// NaN or infinite penalties are off.
	o := GenerateOptions{RepeatPenalty: nan, PresencePenalty: posInf32, FrequencyPenalty: nan}
	assert.Equal(t, 1, newSampler(&o).sample(logits, []int{1, 2}))

	// Greedy after the penalties: 3/2 = 1.5 < 2.
	opts = GenerateOptions{RepeatPenalty: 2}
	assert.Equal(t, 3, newSampler(&opts).sample(logits, []int{1, 2}))
	// Only the last RepeatLastN tokens count.
	opts.RepeatLastN = 1
	assert.Equal(t, 1, newSampler(&opts).sample(logits, []int{1, 2}))
	opts.RepeatLastN = -1
	assert.Equal(t, 3, newSampler(&opts).sample(logits, []int{1, 2}))
	assert.Equal(t, []float32{1, 3, 3, 2}, logits, "sample must not modify the logits")
}

func TestSamplerTopK1IsGreedy(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, temp := range []float32{0.01, 0.8, 1, 5, 100} {
		for seed := range uint64(20) {
			logits := randomLogits(r, 1000, 4)
			opts := GenerateOptions{Temperature: temp, TopK: 1, TopP: 0.5, MinP: 0.1, Seed: seed + 1}
			assert.Equal(t, argmax(logits), newSampler(&opts).sample(logits, nil), "T=%v", temp)
		}
	}
}

// TestSamplerFilter checks that the sampler's filtering, with its shortcuts,
// keeps the candidates that the chain top-k → top-p → min-p keeps.
func TestSamplerFilter(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	inputs := map[string][]float32{
		"normal": randomLogits(r, 30000, 0),
		"ties":   randomLogits(r, 30000, 3),
		"zipf":   zipfLogits(r, 30000),
		"flat":   make([]float32, 3000),
	}
	for name, logits := range inputs {
		for _, k := range []int{0, 1, 40, 1000} {
			for _, p := range []float32{0, 0.5, 0.95, 0.9999} {
				for _, mp := range []float32{0, 0.05, 0.5} {
					opts := GenerateOptions{Temperature: 1, TopK: k, TopP: p, MinP: mp}
					want := topK(candsOf(logits...), k)
					want = minP(topP(want, p), mp)
					got := newSampler(&opts).filter(logits)
					require.Equal(t, candIDs(want), candIDs(got), "%s k=%d p=%v min-p=%v", name, k, p, mp)
				}
			}
		}
	}
}

// drawMany returns n tokens sampled with opts from the same logits.
func drawMany(opts GenerateOptions, logits []float32, n int) []int {
	s := newSampler(&opts)
	out := make([]int, n)
	for i := range out {
		out[i] = s.sample(logits, out[:i])
	}
	return out
}

func TestSamplerSeed(t *testing.T) {
	logits := randomLogits(rand.New(rand.NewPCG(7, 8)), 5000, 0)
	opts := DefaultGenerateOptions()
	opts.Temperature = 2
	opts.RepeatPenalty = 1.1
	opts.Seed = 42
	a := drawMany(opts, logits, 100)
	assert.Equal(t, a, drawMany(opts, logits, 100), "the same seed gives the same tokens")
	opts.Seed = 43
	assert.NotEqual(t, a, drawMany(opts, logits, 100), "different seeds give different tokens")
	opts.Seed = 0
	assert.NotEqual(t, drawMany(opts, logits, 100), drawMany(opts, logits, 100), "seed 0 is random")
}

// TestSamplerDistribution checks that draws follow the probabilities.
func TestSamplerDistribution(t *testing.T) {
	probs := []float64{0.5, 0.3, 0.15, 0.05}
	tests := []struct {
		name string
		opts GenerateOptions
		want []float64
	}{
		{"plain", GenerateOptions{Temperature: 1}, probs},
		{"top-k 2", GenerateOptions{Temperature: 1, TopK: 2}, []float64{0.625, 0.375, 0, 0}},
		{"top-p 0.85", GenerateOptions{Temperature: 1, TopP: 0.85}, []float64{0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0}},
		{"min-p 0.5", GenerateOptions{Temperature: 1, MinP: 0.5}, []float64{0.625, 0.375, 0, 0}},
		{"temperature 0.5", GenerateOptions{Temperature: 0.5}, []float64{0.25 / 0.365, 0.09 / 0.365, 0.0225 / 0.365, 0.0025 / 0.365}},
	}
	const n = 40000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Seed = 99
			s := newSampler(&tt.opts)
			counts := make([]float64, len(probs))
			logits := logitsOfProbs(probs...)
			for range n {
				counts[s.sample(logits, nil)]++
			}
			for i := range counts {
				assert.InDelta(t, tt.want[i], counts[i]/n, 0.01, "token %d", i)
			}
		})
	}
}

func TestSamplerNoAllocs(t *testing.T) {
	logits := zipfLogits(rand.New(rand.NewPCG(9, 10)), 128256)
	recent := make([]int, 200)
	for i := range recent {
		recent[i] = i * 31
	}
	withPenalties := DefaultGenerateOptions()
	withPenalties.RepeatPenalty = 1.1
	withPenalties.PresencePenalty = 0.5
	withPenalties.FrequencyPenalty = 0.1
	tests := map[string]GenerateOptions{
		"defaults":       DefaultGenerateOptions(),
		"greedy":         {},
		"penalties":      withPenalties,
		"top-k off":      {Temperature: 0.8, TopP: 0.95, MinP: 0.05},
		"only top-p":     {Temperature: 0.8, TopP: 0.9},
		"all history":    {Temperature: 0.8, TopK: 40, RepeatPenalty: 1.1, RepeatLastN: -1},
		"no filters T=1": {Temperature: 1},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			opts.Seed = 1
			s := newSampler(&opts)
			s.sample(logits, recent)
			allocs := testing.AllocsPerRun(20, func() { s.sample(logits, recent) })
			assert.Zero(t, allocs)
		})
	}
}

// benchSample measures one token's sampling with opts over a vocabulary of
// 128256 logits shaped like a language model's.
func benchSample(b *testing.B, opts GenerateOptions) {
	r := rand.New(rand.NewPCG(11, 12))
	logits := zipfLogits(r, 128256)
	recent := make([]int, 64)
	for i := range recent {
		recent[i] = r.IntN(len(logits))
	}
	opts.Seed = 1
	s := newSampler(&opts)
	b.ReportAllocs()
	for b.Loop() {
		s.sample(logits, recent)
	}
}

func BenchmarkSample(b *testing.B) {
	b.Run("vocab=128256", func(b *testing.B) { benchSample(b, DefaultGenerateOptions()) })
}

func BenchmarkSampleOptions(b *testing.B) {
	penalties := DefaultGenerateOptions()
	penalties.RepeatPenalty = 1.1
	for _, bc := range []struct {
		name string
		opts GenerateOptions
	}{
		{"greedy", GenerateOptions{}},
		{"penalties", penalties},
		{"topk=off", GenerateOptions{Temperature: 0.8, TopP: 0.95, MinP: 0.05}},
		{"topk=off/minp=off", GenerateOptions{Temperature: 0.8, TopP: 0.95}},
		{"nofilters", GenerateOptions{Temperature: 0.8}},
	} {
		b.Run("opts="+bc.name+"/vocab=128256", func(b *testing.B) { benchSample(b, bc.opts) })
	}
}
