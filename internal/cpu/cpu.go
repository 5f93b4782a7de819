// Package cpu reports the x86-64 instruction set extensions that the
// kernels in internal/kernels can use, detected once at start-up with CPUID
// and XGETBV (no golang.org/x/sys).
//
// An extension counts only when the operating system also saves the
// registers it uses: AVX-class features need CPUID.OSXSAVE and XCR0 bits 1
// and 2 (SSE and AVX state); AVX-512 needs XCR0 bits 5, 6 and 7 (opmask and
// both halves of the ZMM state) as well, the rule of Go's internal/cpu.
//
// The environment variable BITNET_CPU caps what is reported: "generic"
// clears every flag (the kernels then run their portable Go code), "avx2"
// clears the AVX-512 flags, "avx512" (or unset) reports what the hardware
// has. It is read once, when the package is initialised; other values are
// ignored.
package cpu

import "os"

// X86Features is a set of x86-64 instruction set extensions, each usable
// by this process (CPU and operating system support).
type X86Features struct {
	HasAVX        bool // AVX (VEX encoding, 256-bit float)
	HasAVX2       bool // AVX2 (256-bit integer)
	HasFMA        bool // FMA3
	HasF16C       bool // VCVTPH2PS / VCVTPS2PH
	HasAVX512F    bool // AVX-512 Foundation
	HasAVX512BW   bool // AVX-512 byte and word instructions
	HasAVX512VL   bool // AVX-512 at 128 and 256 bits
	HasAVX512VNNI bool // VPDPBUSD and friends
}

// Tier is a level of kernel implementation, ordered from the most portable.
type Tier int

const (
	Generic Tier = iota // portable Go
	AVX2                // AVX2, FMA and F16C
	AVX512              // AVX2 tier plus AVX-512 F, BW and VL
)

var tierNames = [...]string{Generic: "generic", AVX2: "avx2", AVX512: "avx512"}

// String returns the tier's name as BITNET_CPU spells it.
func (t Tier) String() string {
	if t >= 0 && int(t) < len(tierNames) {
		return tierNames[t]
	}
	return "Tier(?)"
}

// Tier returns the highest tier whose features f has.
func (f X86Features) Tier() Tier {
	switch {
	case f.HasAVX2 && f.HasFMA && f.HasF16C && f.HasAVX512F && f.HasAVX512BW && f.HasAVX512VL:
		return AVX512
	case f.HasAVX2 && f.HasFMA && f.HasF16C:
		return AVX2
	}
	return Generic
}

// Capped returns f without the features above tier t.
func (f X86Features) Capped(t Tier) X86Features {
	if t < AVX512 {
		f.HasAVX512F, f.HasAVX512BW, f.HasAVX512VL, f.HasAVX512VNNI = false, false, false, false
	}
	if t < AVX2 {
		f = X86Features{}
	}
	return f
}

var (
	// Detected is what the CPU and operating system support.
	Detected X86Features

	// Limit is the cap set by BITNET_CPU; AVX512 when it is unset.
	Limit Tier

	// X86 is Detected capped at Limit: the features the kernels may use.
	X86 X86Features
)

// EnvVar is the name of the environment variable that caps the tier.
const EnvVar = "BITNET_CPU"

// ParseTier parses a tier name: "generic", "avx2" or "avx512".
func ParseTier(s string) (Tier, bool) {
	for t, name := range tierNames {
		if s == name {
			return Tier(t), true
		}
	}
	return Generic, false
}

func init() {
	Detected = detect()
	Limit = AVX512
	if t, ok := ParseTier(os.Getenv(EnvVar)); ok {
		Limit = t
	}
	X86 = Detected.Capped(Limit)
}
