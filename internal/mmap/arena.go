package mmap

import "unsafe"

// Arena holds the data that every token streams through (the weight
// matrices of a model) in anonymous memory of the process: one block sized
// up front, handed out in aligned pieces. On Linux the block is advised for
// transparent huge pages. Reading weights from such memory runs measurably
// faster than reading them from the page cache through a file mapping
// (fewer TLB misses, physically contiguous memory); the price is a copy at
// load time and memory that is the process's own rather than shared.
//
// An Arena is not safe for concurrent Alloc calls.
type Arena struct {
	mem  []byte // the block, or nil once closed
	raw  []byte // what was mapped, for unmapping
	off  int
	heap bool // mem is ordinary Go memory
}

// ArenaAlign is the alignment of every piece Alloc returns.
const ArenaAlign = 64

// ArenaSize returns the block size an Arena needs for pieces of the given
// sizes.
func ArenaSize(sizes ...int) int {
	total := 0
	for _, n := range sizes {
		total += (n + ArenaAlign - 1) / ArenaAlign * ArenaAlign
	}
	return total
}

// NewArena reserves size bytes. The memory is committed only as pieces of
// it are written.
func NewArena(size int) (*Arena, error) {
	if size <= 0 {
		return &Arena{heap: true}, nil
	}
	mem, raw, err := allocAnon(size)
	if err != nil {
		return nil, err
	}
	if mem == nil {
		return &Arena{mem: make([]byte, size), heap: true}, nil
	}
	return &Arena{mem: mem, raw: raw}, nil
}

// Alloc returns n zeroed bytes aligned to ArenaAlign. It panics if the
// arena is too small: callers size it with ArenaSize.
func (a *Arena) Alloc(n int) []byte {
	if n == 0 {
		return nil
	}
	size := (n + ArenaAlign - 1) / ArenaAlign * ArenaAlign
	if a.off+size > len(a.mem) {
		panic("mmap: arena too small")
	}
	p := a.mem[a.off : a.off+n : a.off+n]
	a.off += size
	return p
}

// Used returns the bytes handed out so far.
func (a *Arena) Used() int { return a.off }

// Close returns the memory to the system. Pieces must not be used
// afterwards. It is safe to call more than once.
func (a *Arena) Close() error {
	if a == nil || a.mem == nil {
		return nil
	}
	raw := a.raw
	a.mem, a.raw = nil, nil
	if a.heap || raw == nil {
		return nil
	}
	return unmap(raw)
}

// Holds reports whether p lies inside the arena's memory.
func (a *Arena) Holds(p []byte) bool {
	if a == nil || len(p) == 0 || len(a.mem) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(a.mem)))
	s := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return s >= lo && s+uintptr(len(p)) <= lo+uintptr(len(a.mem))
}

// NoHuge makes the pages of the arena touched from now on small ones (the
// huge pages already in use stay). Safe to call while other goroutines
// write to pieces.
func (a *Arena) NoHuge() {
	if a != nil && !a.heap && len(a.mem) > 0 {
		adviseSmall(a.mem)
	}
}
