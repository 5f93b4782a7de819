// Command quant generates internal/kernels/quant_amd64.s and its Go stubs:
// the two passes of per-token int8 activation quantization (absmax, then
// scale, round half to even and sum) for the AVX2 and AVX-512 tiers.
//
// Both kernels handle whole vectors only (32 values for AVX2, 64 for
// AVX-512); the Go caller does the tail, with the same arithmetic.
package main

//go:generate go run . -out ../../internal/kernels/quant_amd64.s -stubs ../../internal/kernels/quant_amd64.go -pkg kernels

import . "github.com/mmcloughlin/avo/build"

func main() {
	ConstraintExpr("gc,!purego")
	absMaxAVX2()
	quantizeAVX2()
	absMaxAVX512()
	quantizeAVX512()
	Generate()
}
