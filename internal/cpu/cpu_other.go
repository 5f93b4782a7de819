//go:build !amd64 || !gc || purego

package cpu

// detect reports no extensions: without the generated CPUID code (another
// architecture, another compiler, or the purego tag) the kernels use Go.
func detect() X86Features { return X86Features{} }
