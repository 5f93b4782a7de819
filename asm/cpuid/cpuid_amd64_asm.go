// Command cpuid generates internal/cpu/cpu_amd64.s and its Go stubs: the
// CPUID and XGETBV instructions that feature detection needs.
package main

//go:generate go run . -out ../../internal/cpu/cpu_amd64.s -stubs ../../internal/cpu/cpu_amd64.go -pkg cpu

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("gc,!purego")

	TEXT("cpuid", NOSPLIT, "func(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)")
	Doc("cpuid executes CPUID with EAX = eaxArg and ECX = ecxArg and returns EAX, EBX, ECX, EDX.")
	Load(Param("eaxArg"), EAX)
	Load(Param("ecxArg"), ECX)
	CPUID()
	Store(EAX, Return("eax"))
	Store(EBX, Return("ebx"))
	Store(ECX, Return("ecx"))
	Store(EDX, Return("edx"))
	RET()

	TEXT("xgetbv", NOSPLIT, "func() (eax, edx uint32)")
	Doc("xgetbv executes XGETBV with ECX = 0 and returns the low and high halves of XCR0.",
		"It must only be called when CPUID reports OSXSAVE.")
	XORL(ECX, ECX)
	XGETBV()
	Store(EAX, Return("eax"))
	Store(EDX, Return("edx"))
	RET()

	Generate()
}
