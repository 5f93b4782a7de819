package kernels

// dotF32Generic returns Σ a[j]·b[j] summed in the order of the SIMD
// kernel: 16 partial sums (lane j mod 16), the two halves added lane by
// lane, then ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)), each product
// rounded before it is added. The SIMD kernel gives the same bits.
func dotF32Generic(a, b []float32) float32 {
	var acc [16]float32
	b = b[:len(a)]
	n := len(a) &^ 15
	for j := 0; j < n; j += 16 {
		aa, bb := a[j:j+16:j+16], b[j:j+16:j+16]
		for l := range 16 {
			acc[l] += aa[l] * bb[l]
		}
	}
	for j := n; j < len(a); j++ {
		acc[j&15] += a[j] * b[j]
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
		y[i] += a * x[i]
	}
}
