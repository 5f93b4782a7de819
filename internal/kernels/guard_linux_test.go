//go:build linux

package kernels

import (
	"syscall"
	"testing"
	"unsafe"
)

// guarded returns a zeroed slice of n values that ends exactly where an
// inaccessible page begins, so that a kernel reading past the end faults.
func guarded[T any](t testing.TB, n int) []T {
	var zero T
	size := n * int(unsafe.Sizeof(zero))
	page := syscall.Getpagesize()
	span := (size + page - 1) / page * page
	mem, err := syscall.Mmap(-1, 0, span+page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[span:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		return []T{}
	}
	b := mem[span-size : span]
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}
