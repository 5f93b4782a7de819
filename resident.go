package bitnet

import (
	"fmt"
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
	m.copyPieces(moves)
	m.arena = arena
	return nil
}

// move is one copy of makeResident.
type move struct{ dst, src []byte }

// copyPieces does the copies over the pool in pieces of a few MiB, giving
// back each piece's source pages once copied when they are file pages.
//
// Huge pages can be slow to come by: where free memory is fragmented, the
// kernel compacts it on the first touch of each one, and a copy that takes
// 0.2 s can take 2 s. A thread that sees its copy run slower than
// slowCopy gives up huge pages for the rest of the arena.
func (m *Model) copyPieces(moves []move) {
	const (
		piece    = 4 << 20
		window   = 32 << 20
		slowCopy = 1e9 // bytes per second and worker
	)
	var pieces []move
	for _, mv := range moves {
		for off := 0; off < len(mv.src); off += piece {
			end := min(off+piece, len(mv.src))
			pieces = append(pieces, move{mv.dst[off:end], mv.src[off:end]})
		}
	}
	type rate struct {
		start time.Time
		done  int
		huge  bool
		_     [40]byte
	}
	rates := make([]rate, m.pool.Threads())
	for i := range rates {
		rates[i] = rate{start: time.Now(), huge: true}
	}
	m.pool.For(len(pieces), 1, func(part, lo, hi int) {
		r := &rates[part]
		for i := lo; i < hi; i++ {
			p := pieces[i]
			copy(p.dst, p.src)
			mmap.ReleaseMapped(p.src)
			if r.done += len(p.dst); !r.huge || r.done < window {
				continue
			}
			if float64(r.done)/time.Since(r.start).Seconds() < slowCopy && i+1 < len(pieces) {
				mmap.AdviseNoHuge(pieces[i+1].dst, pieces[len(pieces)-1].dst)
				r.huge = false
			}
			r.start, r.done = time.Now(), 0
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
