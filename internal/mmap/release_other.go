//go:build !linux

package mmap

// Release does nothing where MADV_PAGEOUT is not available: resident
// memory then includes the input pages read so far.
func Release([]byte) {}

// ReleaseAround does nothing where MADV_PAGEOUT is not available.
func ReleaseAround([]byte) {}

// adviseHuge does nothing where madvise(MADV_HUGEPAGE) is not available.
func adviseHuge([]byte) {}

// ReleaseMapped does nothing where MADV_DONTNEED is not available.
func ReleaseMapped([]byte) {}

// adviseSmall does nothing where madvise(MADV_NOHUGEPAGE) is not available.
func adviseSmall([]byte) {}
