//go:build !linux

package convert

// release does nothing where MADV_PAGEOUT is not available: resident
// memory then includes the input pages read so far.
func release([]byte) {}

// releaseAround does nothing where MADV_PAGEOUT is not available.
func releaseAround([]byte) {}
