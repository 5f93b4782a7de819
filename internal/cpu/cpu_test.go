package cpu

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseTier(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Tier
		ok   bool
	}{
		{"generic", Generic, true},
		{"avx2", AVX2, true},
		{"avx512", AVX512, true},
		{"", Generic, false},
		{"AVX2", Generic, false},
		{"sse", Generic, false},
	} {
		got, ok := ParseTier(tc.in)
		assert.Equal(t, tc.ok, ok, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestCapped(t *testing.T) {
	all := X86Features{true, true, true, true, true, true, true, true}
	assert.Equal(t, all, all.Capped(AVX512))
	assert.Equal(t, AVX512, all.Tier())
	avx2 := all.Capped(AVX2)
	assert.Equal(t, X86Features{HasAVX: true, HasAVX2: true, HasFMA: true, HasF16C: true}, avx2)
	assert.Equal(t, AVX2, avx2.Tier())
	assert.Equal(t, X86Features{}, all.Capped(Generic))
	assert.Equal(t, Generic, X86Features{HasAVX: true, HasAVX2: true}.Tier())
}

func TestEnvironment(t *testing.T) {
	want, ok := ParseTier(os.Getenv(EnvVar))
	if !ok {
		want = AVX512
	}
	assert.Equal(t, want, Limit)
	assert.Equal(t, Detected.Capped(Limit), X86)
	assert.LessOrEqual(t, X86.Tier(), Limit)
	t.Logf("GOARCH=%s detected %+v (tier %v); %s=%q → %+v", runtime.GOARCH, Detected, Detected.Tier(), EnvVar, os.Getenv(EnvVar), X86)
}

func TestConsistency(t *testing.T) {
	f := Detected
	// Every extension implies the OS saves the YMM state, hence AVX.
	if f.HasAVX2 || f.HasFMA || f.HasF16C || f.HasAVX512F {
		assert.True(t, f.HasAVX)
	}
	if f.HasAVX512BW || f.HasAVX512VL || f.HasAVX512VNNI {
		assert.True(t, f.HasAVX512F)
	}
}

// TestProcCPUInfo compares the detection with the Linux kernel's view.
func TestProcCPUInfo(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" || Detected == (X86Features{}) {
		t.Skip("needs linux/amd64 with the assembly detection")
	}
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skip(err)
	}
	flags := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if name, list, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "flags" {
			for _, f := range strings.Fields(list) {
				flags[f] = true
			}
			break
		}
	}
	f := Detected
	assert.Equal(t, flags["avx"], f.HasAVX, "avx")
	assert.Equal(t, flags["avx2"], f.HasAVX2, "avx2")
	assert.Equal(t, flags["fma"], f.HasFMA, "fma")
	assert.Equal(t, flags["f16c"], f.HasF16C, "f16c")
	assert.Equal(t, flags["avx512f"], f.HasAVX512F, "avx512f")
	assert.Equal(t, flags["avx512bw"], f.HasAVX512BW, "avx512bw")
	assert.Equal(t, flags["avx512vl"], f.HasAVX512VL, "avx512vl")
	assert.Equal(t, flags["avx512_vnni"], f.HasAVX512VNNI, "avx512_vnni")
}
