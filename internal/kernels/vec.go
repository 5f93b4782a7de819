package kernels

// The element-wise steps of a forward pass between its matrix products.
// Every tier gives the bits of the Go code here.

// SumSquares returns Σ x[j]² in float64: 16 partial sums (sum j mod 16, in
// element order, so that the additions do not wait on each other) added in
// a fixed order. Each square of a float32 is exact in float64.
func SumSquares(x []float32) float64 {
	var s [16]float64
	n := len(x) &^ 15
	sumSquares16(x[:n], &s)
	for j := n; j < len(x); j++ {
		v := float64(x[j])
		s[j&15] += v * v
	}
	var b [4]float64
	for l := range b {
		b[l] = (s[l] + s[4+l]) + (s[8+l] + s[12+l])
	}
	return (b[0] + b[1]) + (b[2] + b[3])
}

func sumSquares16Generic(x []float32, s *[16]float64) {
	for j := 0; j+16 <= len(x); j += 16 {
		xx := x[j : j+16 : j+16]
		for l := range 16 {
			v := float64(xx[l])
			s[l] += v * v
		}
	}
}

// ScaleMul sets out[j] = w[j]·(x[j]·r) for j < len(out) (RMSNorm's scaling;
// out may be x).
func ScaleMul(out, x, w []float32, r float32) {
	x, w = x[:len(out)], w[:len(out)]
	n := len(out) &^ 7
	scaleMul(out[:n], x, w, r)
	scaleMulGeneric(out[n:], x[n:], w[n:], r)
}

func scaleMulGeneric(out, x, w []float32, r float32) {
	x, w = x[:len(out)], w[:len(out)]
	for j := range out {
		out[j] = w[j] * (x[j] * r)
	}
}

// ReLUSqMul sets g[j] = max(g[j], 0)²·u[j] for j < len(g): the relu² gate
// of BitNet b1.58's feed-forward block times the up projection.
func ReLUSqMul(g, u []float32) {
	u = u[:len(g)]
	n := len(g) &^ 7
	reluSqMul(g[:n], u)
	reluSqMulGeneric(g[n:], u[n:])
}

func reluSqMulGeneric(g, u []float32) {
	u = u[:len(g)]
	for j, v := range g {
		v = max(v, 0)
		g[j] = v * v * u[j]
	}
}

// Add sets x[j] += y[j] for j < len(x).
func Add(x, y []float32) {
	y = y[:len(x)]
	n := len(x) &^ 7
	add(x[:n], y)
	addGeneric(x[n:], y[n:])
}

func addGeneric(x, y []float32) {
	y = y[:len(x)]
	for j := range x {
		x[j] += y[j]
	}
}
