package bitnet

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/org/bitnet/internal/mmap"
)

// Weights in memory. A token streams through every ternary projection and
// the output matrix, about 1.2 GB for 2B4T. Read through the file mapping
// they come from the page cache in 4 KiB pages; copied once into the
// process's own memory, on transparent huge pages where the system has
// them, the same kernels run about 10% faster (examples/bench, same run).
// Load therefore copies them, and gives the file's pages back as it goes,
// so the peak resident memory stays near the file's size. WithMmap keeps
// the mapping instead.

// makeResident copies the projections and the output matrix (and the
// embedding when it is the same tensor) into one arena. The int8 output
// matrix, when asked for, is built later in space reserved here.
func (m *Model) makeResident(outputInt8 bool) error {
	w := &m.w
	var projs []*bitLinear
	for i := range w.layers {
		ly := &w.layers[i]
		projs = append(projs, &ly.q, &ly.k, &ly.v, &ly.o, &ly.gate, &ly.up, &ly.down)
	}
	sizes := make([]int, 0, len(projs)+3)
	for _, p := range projs {
		sizes = append(sizes, len(p.w.Data))
	}
	out := &w.output
	if outputInt8 {
		sizes = append(sizes, out.rows*out.cols, 4*out.rows, 4*out.rows)
	} else {
		sizes = append(sizes, len(out.bytes()))
	}
	arena, err := mmap.NewArena(mmap.ArenaSize(sizes...))
	if err != nil {
		return fmt.Errorf("bitnet: weights in memory: %w", err)
	}

	var moves []move
	for _, p := range projs {
		dst := arena.Alloc(len(p.w.Data))
		moves = append(moves, move{dst, p.w.Data})
		p.w.Data, p.w.InPlace = dst, false
	}
	if !outputInt8 {
		src := out.bytes()
		dst := arena.Alloc(len(src))
		moves = append(moves, move{dst, src})
		tied := sameData(out, &w.embed)
		out.setBytes(dst)
		if tied {
			w.embed = *out
		}
	}
	m.copyPieces(arena, moves)
	m.arena = arena
	return nil
}

// move is one copy of makeResident.
type move struct{ dst, src []byte }

// copyPieces does the copies over the pool in pieces of a few MiB, giving
// back each piece's source pages once copied when they are file pages. The
// moves come in order of priority: the threads work through them from the
// front together.
//
// Huge pages can be slow to come by. Where the kernel must first compact
// free memory, or where a virtual machine gives back free memory to its
// host and takes it again on first touch, a 2 MiB page can take
// milliseconds, and a copy that takes 0.2 s takes 3 s. So the copy asks
// for huge pages for at most hugeBudget, then takes small pages for the
// rest: a load stays fast, and the weights read first (the projections,
// whose short row streams gain the most from huge pages) get them.
func (m *Model) copyPieces(arena *mmap.Arena, moves []move) {
	const (
		piece      = 4 << 20
		hugeBudget = 800 * time.Millisecond
	)
	var all []move
	for _, mv := range moves {
		for off := 0; off < len(mv.src); off += piece {
			end := min(off+piece, len(mv.src))
			all = append(all, move{mv.dst[off:end], mv.src[off:end]})
		}
	}
	// Deal the pieces out like cards, so that each thread's share (the
	// pool's first split) runs in priority order.
	threads := m.pool.Threads()
	pieces := make([]move, 0, len(all))
	for t := 0; t < threads; t++ {
		for i := t; i < len(all); i += threads {
			pieces = append(pieces, all[i])
		}
	}
	start := time.Now()
	var small atomic.Bool
	m.pool.For(len(pieces), 1, func(_, lo, hi int) {
		for _, p := range pieces[lo:hi] {
			if !small.Load() && time.Since(start) > hugeBudget && !small.Swap(true) {
				arena.NoHuge()
			}
			copy(p.dst, p.src)
			mmap.ReleaseMapped(p.src)
		}
	})
}

// sameData reports whether two matrices are views of the same storage.
func sameData(a, b *floatMatrix) bool {
	x, y := a.bytes(), b.bytes()
	return len(x) == len(y) && len(x) > 0 && unsafe.SliceData(x) == unsafe.SliceData(y)
}

// setBytes points the matrix, in its current element type, at data.
func (fm *floatMatrix) setBytes(data []byte) {
	p := unsafe.Pointer(unsafe.SliceData(data))
	switch {
	case fm.f16 != nil:
		fm.f16 = unsafe.Slice((*uint16)(p), len(data)/2)
	case fm.bf16 != nil:
		fm.bf16 = unsafe.Slice((*uint16)(p), len(data)/2)
	default:
		fm.f32 = unsafe.Slice((*float32)(p), len(data)/4)
	}
}
