// Package parallel runs loops over a persistent pool of worker goroutines.
package parallel

import (
	"sync"
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
	wg     *sync.WaitGroup
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

func (p *Pool) work() {
	for t := range p.tasks {
		(*t.fn)(t.part, t.lo, t.hi)
		t.wg.Done()
	}
}

var wgPool = sync.Pool{New: func() any { return new(sync.WaitGroup) }}

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
	wg := wgPool.Get().(*sync.WaitGroup)
	wg.Add(parts - 1)
	bound := func(i int) int { return min(n, (units*i/parts)*grain) }
	for i := 1; i < parts; i++ {
		p.tasks <- task{fn: &fn, part: i, lo: bound(i), hi: bound(i + 1), wg: wg}
	}
	fn(0, 0, bound(1))
	wg.Wait()
	wgPool.Put(wg)
}

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.once.Do(func() { close(p.tasks) })
}
