package kernels

// dotF32Generic returns Σ a[j]·b[j] summed in the order of the SIMD
// kernel: 16 partial sums (lane j mod 16), the two halves added lane by
// lane, then ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)), each product
// rounded before it is added (the explicit conversions keep a compiler
// from fusing the multiply and add, as the arm64 one would). The SIMD
// kernel gives the same bits.
func dotF32Generic(a, b []float32) float32 {
	var acc [16]float32
	b = b[:len(a)]
	n := len(a) &^ 15
	for j := 0; j < n; j += 16 {
		aa, bb := a[j:j+16:j+16], b[j:j+16:j+16]
		for l := range 16 {
			acc[l] += float32(aa[l] * bb[l])
		}
	}
	for j := n; j < len(a); j++ {
		acc[j&15] += float32(a[j] * b[j])
	}
	return reduce16(&acc)
}

func reduce16(acc *[16]float32) float32 {
	var l [8]float32
	for i := range l {
		l[i] = acc[i] + acc[i+8]
	}
	return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}

// axpyF32Generic sets y[i] += a·x[i] for i < len(y).
func axpyF32Generic(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += float32(a * x[i])
	}
}

// dotBF16Generic returns Σ bf16(w[j])·x[j] in the order of dotF32Generic.
func dotBF16Generic(w []uint16, x []float32) float32 {
	var acc [16]float32
	w = w[:len(x)]
	n := len(x) &^ 15
	for j := 0; j < n; j += 16 {
		ww, xx := w[j:j+16:j+16], x[j:j+16:j+16]
		for l := range 16 {
			acc[l] += float32(BF16ToF32(ww[l]) * xx[l])
		}
	}
	for j := n; j < len(x); j++ {
		acc[j&15] += float32(BF16ToF32(w[j]) * x[j])
	}
	return reduce16(&acc)
}

// matVecBF16Generic sets dst[r] = Σ_j bf16(w[r·k+j])·x[j], k = len(x).
func matVecBF16Generic(dst []float32, w []uint16, x []float32) {
	k := len(x)
	for r := range dst {
		dst[r] = DotBF16(w[r*k:(r+1)*k], x)
	}
}

// MatVecBF16 sets dst[r] = Σ_j bf16(w[r·k+j])·x[j] with k = len(x).
func MatVecBF16(dst []float32, w []uint16, x []float32) { matVecBF16Generic(dst, w, x) }

// MatVecF32 sets dst[r] = Σ_j w[r·k+j]·x[j] with k = len(x), each row in
// the order of DotF32 (the attention scores of a query against a head's
// cached keys). It panics if len(w) < len(dst)·k.
func MatVecF32(dst []float32, w []float32, x []float32) {
	k := len(x)
	if len(w) < len(dst)*k {
		panic("kernels: MatVecF32: w is shorter than len(dst)·len(x)")
	}
	if k == 0 {
		clear(dst)
		return
	}
	dotRowsF32(dst, w[:len(dst)*k], x)
}

func dotRowsF32Generic(dst []float32, w []float32, x []float32) {
	k := len(x)
	for r := range dst {
		dst[r] = DotF32(w[r*k:(r+1)*k], x)
	}
}

// WeightedSumF32 sets out[j] = Σ_p a[p]·v[p·stride+j] for j < len(out),
// adding in p order with each product rounded first: the bits of len(a)
// calls of AxpyF32 on a zeroed out (attention's weighted sum of a head's
// cached values). It panics if v is too short.
func WeightedSumF32(out, a, v []float32, stride int) {
	if len(a) == 0 {
		clear(out)
		return
	}
	if len(v) < (len(a)-1)*stride+len(out) {
		panic("kernels: WeightedSumF32: v is too short")
	}
	// Chunks of up to 64 columns keep their sums in registers.
	for c := 0; c < len(out); {
		n := min(64, len(out)-c)
		if n >= 8 {
			n &^= 7
			weightedSumF32(out[c:c+n], a, v[c:], stride)
		} else {
			weightedSumF32Generic(out[c:c+n], a, v[c:], stride)
		}
		c += n
	}
}

func weightedSumF32Generic(out, a, v []float32, stride int) {
	clear(out)
	for p, w := range a {
		axpyF32Generic(out, w, v[p*stride:p*stride+len(out)])
	}
}

// DotF32 returns Σ a[j]·b[j] (len(b) ≥ len(a)), in the order of
// dotF32Generic on every tier.
func DotF32(a, b []float32) float32 { return dotF32(a, b[:len(a)]) }

// AxpyF32 sets y[i] += a·x[i] for i < len(y) (len(x) ≥ len(y)).
func AxpyF32(y []float32, a float32, x []float32) { axpyF32(y, a, x[:len(y)]) }

// DotBF16 returns Σ bf16(w[j])·x[j] (len(w) ≥ len(x)), in the order of
// dotF32Generic on every tier.
func DotBF16(w []uint16, x []float32) float32 { return dotBF16(w[:len(x)], x) }
