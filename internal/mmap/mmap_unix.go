//go:build unix

package mmap

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

func mapFile(f *os.File, size int) (*Mapping, error) {
	data, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return readFile(f, size)
	}
	return &Mapping{data: data, mapped: true}, nil
}

func unmap(data []byte) error { return syscall.Munmap(data) }

// allocAnon maps size bytes of anonymous memory, aligned to a huge page
// (2 MiB), and returns the aligned view and the whole mapping.
func allocAnon(size int) (mem, raw []byte, err error) {
	const huge = 2 << 20
	raw, err = syscall.Mmap(-1, 0, size+huge, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap: %d bytes of anonymous memory: %w", size, err)
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(raw)))
	off := int((huge - start%huge) % huge)
	mem = raw[off : off+size : off+size]
	return mem, raw, nil
}
