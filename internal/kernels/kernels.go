// Package kernels holds the arithmetic inner loops of the forward pass: the
// ternary × int8 products, activation quantization and the f16 output matrix.
//
// Every kernel has a portable Go reference (the *Generic functions, always
// built); faster tiers for amd64 are selected once at start-up. The integer
// results of every tier are identical.
//
// Ternary weights use bitnet.cpp's I2_S layout: each row of k weights (k a
// multiple of 128) is k/4 bytes of 2-bit codes c ∈ {0,1,2} meaning w = c−1,
// in 32-byte blocks of 128 weights where byte j holds weights j, j+32, j+64
// and j+96 in bits 7-6, 5-4, 3-2 and 1-0.
package kernels

// BlockSize is the number of weights in one 32-byte I2_S block.
const BlockSize = 128

// RowBytes is the number of bytes of one I2_S row of k weights.
func RowBytes(k int) int { return k / 4 }
