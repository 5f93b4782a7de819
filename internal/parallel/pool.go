// Package parallel runs loops over a persistent pool of worker goroutines.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a fixed set of worker goroutines shared by every caller. A call
// to For splits its range into at most Threads() parts; the calling
// goroutine runs one part and the workers the others, so concurrent callers
// share the workers instead of starting goroutines of their own.
type Pool struct {
	threads int
	tasks   chan task
	once    sync.Once
}

type task struct {
	fn     *func(part, lo, hi int)
	part   int
	lo, hi int
	done   *atomic.Int32
}

// New starts a pool for threads-way parallelism (threads−1 workers plus the
// caller). threads < 1 means 1.
func New(threads int) *Pool {
	threads = max(threads, 1)
	p := &Pool{threads: threads, tasks: make(chan task, 4*threads)}
	for range threads - 1 {
		go p.work()
	}
	return p
}

// Threads returns the pool's parallelism.
func (p *Pool) Threads() int { return p.threads }

// spinFor is how long an idle worker, or a caller waiting for its parts,
// polls before it blocks: the gaps between the parallel loops of a forward
// pass are a few microseconds, shorter than waking a parked goroutine.
const spinFor = 100 * time.Microsecond

func (p *Pool) work() {
	for {
		t, ok := p.next()
		if !ok {
			return
		}
		(*t.fn)(t.part, t.lo, t.hi)
		t.done.Add(1)
	}
}

// next returns the next task, polling for a while before blocking.
func (p *Pool) next() (task, bool) {
	var deadline time.Time
	for i := 0; ; i++ {
		select {
		case t, ok := <-p.tasks:
			return t, ok
		default:
		}
		if i&63 == 63 {
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(spinFor)
			} else if now.After(deadline) {
				t, ok := <-p.tasks
				return t, ok
			}
		}
	}
}

var counters = sync.Pool{New: func() any { return new(atomic.Int32) }}

// For calls fn(part, lo, hi) over contiguous ranges covering [0, n), each
// a multiple of grain long (except the last), and waits for all of them.
// part is in [0, Threads()) and distinct for the ranges of one call, so fn
// may use it to index per-part scratch space.
func (p *Pool) For(n, grain int, fn func(part, lo, hi int)) {
	if n <= 0 {
		return
	}
	grain = max(grain, 1)
	units := (n + grain - 1) / grain
	parts := min(p.threads, units)
	if parts <= 1 {
		fn(0, 0, n)
		return
	}
	done := counters.Get().(*atomic.Int32)
	done.Store(0)
	bound := func(i int) int { return min(n, (units*i/parts)*grain) }
	for i := 1; i < parts; i++ {
		p.tasks <- task{fn: &fn, part: i, lo: bound(i), hi: bound(i + 1), done: done}
	}
	fn(0, 0, bound(1))
	// The other parts usually end within microseconds of this one: poll,
	// then yield the processor while they take longer.
	for i := 0; done.Load() < int32(parts-1); i++ {
		if i > 256 {
			runtime.Gosched()
		}
	}
	counters.Put(done)
}

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.once.Do(func() { close(p.tasks) })
}
