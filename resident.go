package bitnet

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/org/bitnet/internal/mmap"
	"github.com/org/bitnet/internal/parallel"
)

// Weights in memory. A token streams through every ternary projection and
// the output matrix, about 1.2 GB for 2B4T. Read through the file mapping
// they come from the page cache in 4 KiB pages; copied once into the
// process's own memory, on transparent huge pages where the system has
// them, the same kernels run 10-40% faster (examples/bench, same run).
// Load therefore copies them, each projection as soon as it is read and
// the output matrix at the end, and gives the file's pages back as it
// goes, so the peak resident memory stays near the file's size. WithMmap
// keeps the mapping instead.
//
// Huge pages can be slow to come by. Where the kernel must first compact
// free memory, or where a virtual machine gives free memory back to its
// host and takes it again on first touch, a 2 MiB page can take
// milliseconds, and a copy that takes 0.2 s takes 3 s. So the copies ask
// for huge pages until the time spent taking them (the first touch of the
// destination, timed apart from the reading of the file, which may come
// from a slow disk) reaches hugeBudget, then take small pages: a load
// stays fast, and the projections, read first and gaining the most from
// huge pages (their short row streams), get them.
const hugeBudget = 800 * time.Millisecond

// residency copies weights into an arena as a load reads them.
type residency struct {
	arena    *mmap.Arena
	pool     *parallel.Pool // the copies run on the model's threads
	faulting atomic.Int64   // nanoseconds spent on first touches of the arena
}

func newResidency(pool *parallel.Pool) *residency {
	return &residency{arena: mmap.NewArena(), pool: pool}
}

// budget stops asking for huge pages once hugeBudget has been spent taking
// them. Safe to call from several goroutines.
func (r *residency) budget() {
	if time.Duration(r.faulting.Load()) > hugeBudget {
		r.arena.NoHuge()
	}
}

// touch writes one byte of every page of dst, fresh arena memory, so that
// the kernel maps it, and counts the time.
func (r *residency) touch(dst []byte) {
	start := time.Now()
	for i := 0; i < len(dst); i += 4096 {
		dst[i] = 0
	}
	r.faulting.Add(int64(time.Since(start)))
}

// alloc returns n bytes of the arena.
func (r *residency) alloc(n int) ([]byte, error) {
	r.budget()
	p, err := r.arena.Alloc(n)
	if err != nil {
		return nil, fmt.Errorf("bitnet: weights in memory: %w", err)
	}
	return p, nil
}

// copyPiece is the unit of the copies: long enough to stream, short enough
// to give file pages back as the copy goes.
const copyPiece = 4 << 20

// place returns a copy of src in the arena, giving back src's pages when
// they are file pages. The pieces of the copy are spread over the pool.
func (r *residency) place(src []byte) ([]byte, error) {
	dst, err := r.alloc(len(src))
	if err != nil {
		return nil, err
	}
	pieces := (len(src) + copyPiece - 1) / copyPiece
	r.pool.For(pieces, 1, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			a, b := i*copyPiece, min((i+1)*copyPiece, len(src))
			r.touch(dst[a:b])
			copy(dst[a:b], src[a:b])
			mmap.ReleaseMapped(src[a:b])
			r.budget()
		}
	})
	return dst, nil
}

// projections wraps a projection loader of loadLayers so that each
// projection moves into the arena as soon as it is read (a repacked one
// leaves its Go memory to the collector, so memory does not pile up).
func (r *residency) projections(lin func(name string, rows, cols int) (bitLinear, error)) func(name string, rows, cols int) (bitLinear, error) {
	if r == nil {
		return lin
	}
	return func(name string, rows, cols int) (bitLinear, error) {
		l, err := lin(name, rows, cols)
		if err != nil {
			return l, err
		}
		if l.w.Data, err = r.place(l.w.Data); err != nil {
			return l, err
		}
		l.w.InPlace = false
		return l, nil
	}
}

// placeOutput copies the output matrix (and the embedding when it is the
// same tensor) into the arena.
func (m *Model) placeOutput(r *residency) error {
	w := &m.w
	out := &w.output
	tied := sameData(out, &w.embed)
	dst, err := r.place(out.bytes())
	if err != nil {
		return err
	}
	out.setBytes(dst)
	if tied {
		w.embed = *out
	}
	return nil
}

// sameData reports whether two matrices are views of the same storage.
func sameData(a, b *floatMatrix) bool {
	x, y := a.bytes(), b.bytes()
	return len(x) == len(y) && len(x) > 0 && unsafe.SliceData(x) == unsafe.SliceData(y)
}

// setBytes points the matrix, in its current element type, at data.
func (fm *floatMatrix) setBytes(data []byte) {
	switch {
	case fm.f16 != nil:
		fm.f16 = unsafeSlice[uint16](data)
	case fm.bf16 != nil:
		fm.bf16 = unsafeSlice[uint16](data)
	default:
		fm.f32 = unsafeSlice[float32](data)
	}
}
