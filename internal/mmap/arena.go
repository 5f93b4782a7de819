package mmap

import (
	"sync/atomic"
	"unsafe"
)

// Arena holds the data that every token streams through (the weight
// matrices of a model) in anonymous memory of the process, handed out in
// aligned pieces from blocks of at least ArenaBlock bytes. On Linux the
// blocks are advised for transparent huge pages. Reading weights from such
// memory runs measurably faster than reading them from the page cache
// through a file mapping (fewer TLB misses, physically contiguous memory);
// the price is a copy at load time and memory that is the process's own
// rather than shared. Memory is committed only as pieces are written.
//
// An Arena is not safe for concurrent use, except that NoHuge may be
// called while pieces are being written.
type Arena struct {
	blocks []block
	small  atomic.Bool // NoHuge was called
}

type block struct {
	mem  []byte // the aligned view handed out from
	raw  []byte // what was mapped, for unmapping (nil: Go memory)
	used int
}

// ArenaAlign is the alignment of every piece Alloc returns.
const ArenaAlign = 64

// ArenaBlock is the smallest block an Arena maps.
const ArenaBlock = 64 << 20

// NewArena returns an empty arena.
func NewArena() *Arena { return &Arena{} }

// Alloc returns n zeroed bytes aligned to ArenaAlign, in a new block when
// the last one has no room.
func (a *Arena) Alloc(n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	size := (n + ArenaAlign - 1) / ArenaAlign * ArenaAlign
	if len(a.blocks) == 0 || a.blocks[len(a.blocks)-1].used+size > len(a.blocks[len(a.blocks)-1].mem) {
		b, err := newBlock(max(ArenaBlock, size), !a.small.Load())
		if err != nil {
			return nil, err
		}
		a.blocks = append(a.blocks, b)
	}
	b := &a.blocks[len(a.blocks)-1]
	p := b.mem[b.used : b.used+n : b.used+n]
	b.used += size
	return p, nil
}

func newBlock(size int, huge bool) (block, error) {
	mem, raw, err := allocAnon(size)
	if err != nil {
		return block{}, err
	}
	if mem == nil {
		return block{mem: make([]byte, size)}, nil
	}
	if huge {
		adviseHuge(mem)
	}
	return block{mem: mem, raw: raw}, nil
}

// Used returns the bytes handed out so far, alignment included.
func (a *Arena) Used() int {
	n := 0
	for _, b := range a.blocks {
		n += b.used
	}
	return n
}

// Holds reports whether p lies inside the arena's memory.
func (a *Arena) Holds(p []byte) bool {
	if a == nil || len(p) == 0 {
		return false
	}
	s := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	for _, b := range a.blocks {
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(b.mem)))
		if s >= lo && s+uintptr(len(p)) <= lo+uintptr(len(b.mem)) {
			return true
		}
	}
	return false
}

// NoHuge makes the pages of the arena touched from now on small ones (the
// huge pages already in use stay).
func (a *Arena) NoHuge() {
	if a == nil || a.small.Swap(true) {
		return
	}
	for _, b := range a.blocks {
		if b.raw != nil {
			adviseSmall(b.mem)
		}
	}
}

// Huge reports whether blocks mapped from now on are advised for huge
// pages (until NoHuge).
func (a *Arena) Huge() bool { return a != nil && !a.small.Load() }

// Close returns the memory to the system. Pieces must not be used
// afterwards. It is safe to call more than once, and on nil.
func (a *Arena) Close() error {
	if a == nil {
		return nil
	}
	var err error
	for _, b := range a.blocks {
		if b.raw != nil {
			if e := unmap(b.raw); e != nil && err == nil {
				err = e
			}
		}
	}
	a.blocks = nil
	return err
}
