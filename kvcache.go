package bitnet

// kvCache holds the keys and values of every evaluated position, per layer:
// k[l] and v[l] are [ctx][kvDim] float32, row p for position p. The slices
// are allocated up front; the operating system only backs the pages that
// positions actually reach.
type kvCache struct {
	k, v  [][]float32
	kvDim int
	ctx   int
	n     int // positions held
}

func newKVCache(layers, ctx, kvDim int) *kvCache {
	c := &kvCache{k: make([][]float32, layers), v: make([][]float32, layers), kvDim: kvDim, ctx: ctx}
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

// keys returns the key row of position p in layer l.
func (c *kvCache) keys(l, p int) []float32 { return c.k[l][p*c.kvDim : (p+1)*c.kvDim] }

// values returns the value row of position p in layer l.
func (c *kvCache) values(l, p int) []float32 { return c.v[l][p*c.kvDim : (p+1)*c.kvDim] }

// truncate keeps the first n positions.
func (c *kvCache) truncate(n int) { c.n = min(c.n, max(n, 0)) }

// bytes is the memory the cache reserves.
func (c *kvCache) bytes() int64 { return int64(len(c.k)) * 2 * int64(c.ctx*c.kvDim) * 4 }
