package convert

import "github.com/org/bitnet/internal/mmap"

func release(b []byte)       { mmap.Release(b) }
func releaseAround(b []byte) { mmap.ReleaseAround(b) }
