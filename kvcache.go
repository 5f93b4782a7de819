package bitnet

// kvCache holds the keys and values of every evaluated position, per layer
// and key/value head: k[l] and v[l] are [kvHeads][ctx][headDim] float32, so
// that the positions of one head are contiguous (attention streams them).
// The slices are allocated up front; the operating system only backs the
// pages that positions actually reach.
type kvCache struct {
	k, v    [][]float32
	kvDim   int
	kvHeads int
	headDim int
	ctx     int
	n       int // positions held
}

func newKVCache(layers, ctx, kvHeads, headDim int) *kvCache {
	kvDim := kvHeads * headDim
	c := &kvCache{k: make([][]float32, layers), v: make([][]float32, layers), kvDim: kvDim, kvHeads: kvHeads, headDim: headDim, ctx: ctx}
	for l := range c.k {
		c.k[l] = make([]float32, ctx*kvDim)
		c.v[l] = make([]float32, ctx*kvDim)
	}
	return c
}

// Len returns the number of positions held.
func (c *kvCache) Len() int { return c.n }

// room returns how many more positions fit.
func (c *kvCache) room() int { return c.ctx - c.n }

// keys returns the keys of head h in layer l, [ctx][headDim].
func (c *kvCache) keys(l, h int) []float32 {
	n := c.ctx * c.headDim
	return c.k[l][h*n : (h+1)*n]
}

// values returns the values of head h in layer l, [ctx][headDim].
func (c *kvCache) values(l, h int) []float32 {
	n := c.ctx * c.headDim
	return c.v[l][h*n : (h+1)*n]
}

// store writes the keys and values of position p in layer l (each
// [kvHeads][headDim]).
func (c *kvCache) store(l, p int, k, v []float32) {
	hd := c.headDim
	for h := 0; h < c.kvHeads; h++ {
		copy(c.keys(l, h)[p*hd:(p+1)*hd], k[h*hd:(h+1)*hd])
		copy(c.values(l, h)[p*hd:(p+1)*hd], v[h*hd:(h+1)*hd])
	}
}

// truncate keeps the first n positions.
func (c *kvCache) truncate(n int) { c.n = min(c.n, max(n, 0)) }
