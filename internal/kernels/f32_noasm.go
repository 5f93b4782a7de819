//go:build !amd64 || !gc || purego

package kernels

// DotF32 returns Σ a[j]·b[j] (len(b) ≥ len(a)).
func DotF32(a, b []float32) float32 { return dotF32Generic(a, b) }

// AxpyF32 sets y[i] += a·x[i] for i < len(y) (len(x) ≥ len(y)).
func AxpyF32(y []float32, a float32, x []float32) { axpyF32Generic(y, a, x) }

// DotBF16 returns Σ bf16(w[j])·x[j] (len(w) ≥ len(x)).
func DotBF16(w []uint16, x []float32) float32 { return dotBF16Generic(w, x) }

func matVecQ8(dst []int32, w []int8, u, l []uint8) { matVecQ8Generic(dst, w, u, l) }
