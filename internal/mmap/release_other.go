//go:build !linux

package mmap

// Release does nothing where MADV_PAGEOUT is not available: resident
// memory then includes the input pages read so far.
func Release([]byte) {}

// ReleaseAround does nothing where MADV_PAGEOUT is not available.
func ReleaseAround([]byte) {}
