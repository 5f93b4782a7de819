//go:build amd64 && gc && !purego

package cpu

// CPUID bit positions (Intel SDM vol. 2A, CPUID; AMD APM vol. 3, E.3).
const (
	// leaf 1, ECX
	cpuid1FMA     = 1 << 12
	cpuid1OSXSAVE = 1 << 27
	cpuid1AVX     = 1 << 28
	cpuid1F16C    = 1 << 29

	// leaf 7 subleaf 0, EBX
	cpuid7AVX2     = 1 << 5
	cpuid7AVX512F  = 1 << 16
	cpuid7AVX512BW = 1 << 30
	cpuid7AVX512VL = 1 << 31

	// leaf 7 subleaf 0, ECX
	cpuid7AVX512VNNI = 1 << 11

	// XCR0: state components the operating system saves.
	xcr0SSE    = 1 << 1
	xcr0AVX    = 1 << 2
	xcr0Opmask = 1 << 5
	xcr0ZMMHi  = 1 << 6 // upper halves of ZMM0-15
	xcr0HiZMM  = 1 << 7 // ZMM16-31
)

func detect() X86Features {
	var f X86Features
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 1 {
		return f
	}
	_, _, ecx1, _ := cpuid(1, 0)
	if ecx1&cpuid1OSXSAVE == 0 {
		return f // no XGETBV: the OS state of YMM/ZMM is unknown
	}
	xcr0, _ := xgetbv()
	osAVX := xcr0&(xcr0SSE|xcr0AVX) == xcr0SSE|xcr0AVX
	osAVX512 := osAVX && xcr0&(xcr0Opmask|xcr0ZMMHi|xcr0HiZMM) == xcr0Opmask|xcr0ZMMHi|xcr0HiZMM
	if !osAVX {
		return f
	}
	f.HasAVX = ecx1&cpuid1AVX != 0
	f.HasFMA = f.HasAVX && ecx1&cpuid1FMA != 0
	f.HasF16C = f.HasAVX && ecx1&cpuid1F16C != 0
	if maxLeaf < 7 {
		return f
	}
	_, ebx7, ecx7, _ := cpuid(7, 0)
	f.HasAVX2 = f.HasAVX && ebx7&cpuid7AVX2 != 0
	if osAVX512 {
		f.HasAVX512F = ebx7&cpuid7AVX512F != 0
		f.HasAVX512BW = f.HasAVX512F && ebx7&cpuid7AVX512BW != 0
		f.HasAVX512VL = f.HasAVX512F && ebx7&cpuid7AVX512VL != 0
		f.HasAVX512VNNI = f.HasAVX512F && ecx7&cpuid7AVX512VNNI != 0
	}
	return f
}
