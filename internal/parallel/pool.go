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
// goroutine runs one part and hands the others to idle workers. A part for
// which no worker is idle (another caller has them) is run by the caller
// itself, so concurrent callers share the workers and never oversubscribe
// the cores or wait for each other.
//
// Workers poll their slot for a while after a task, since the next loop of
// a forward pass follows within microseconds, and then sleep until woken.
type Pool struct {
	threads int
	slots   []slot
	closed  atomic.Bool
	once    sync.Once
}

// Slot states.
const (
	spinning int32 = iota // idle, polling the slot
	sleeping              // idle, blocked on wake
	claimed               // a caller is writing the task
	assigned              // the task is ready
	running
)

type slot struct {
	state atomic.Int32
	task  task
	wake  chan struct{}
	_     [64]byte // keep slots on separate cache lines
}

// Job is a parallel loop body: Run(part, lo, hi) handles [lo, hi).
type Job interface {
	Run(part, lo, hi int)
}

// funcJob adapts a function to Job.
type funcJob func(part, lo, hi int)

func (f funcJob) Run(part, lo, hi int) { f(part, lo, hi) }

type task struct {
	job    Job
	part   int
	lo, hi int
	done   *atomic.Int32
}

// spinFor is how long an idle worker polls before it sleeps.
const spinFor = 200 * time.Microsecond

// New starts a pool for threads-way parallelism (threads−1 workers plus the
// caller). threads < 1 means 1.
func New(threads int) *Pool {
	threads = max(threads, 1)
	p := &Pool{threads: threads, slots: make([]slot, threads-1)}
	for i := range p.slots {
		p.slots[i].wake = make(chan struct{}, 1)
		go p.work(&p.slots[i])
	}
	return p
}

// Threads returns the pool's parallelism.
func (p *Pool) Threads() int { return p.threads }

func (p *Pool) work(s *slot) {
	for {
		var deadline time.Time
		for i := 0; s.state.Load() != assigned; i++ {
			if i&255 != 255 {
				continue
			}
			if p.closed.Load() {
				return
			}
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(spinFor)
				continue
			}
			if now.After(deadline) && s.state.CompareAndSwap(spinning, sleeping) {
				<-s.wake
				if p.closed.Load() && s.state.Load() != assigned {
					return
				}
				deadline = time.Time{}
			}
			runtime.Gosched()
		}
		s.state.Store(running)
		t := s.task
		t.job.Run(t.part, t.lo, t.hi)
		t.done.Add(1)
		s.state.Store(spinning)
	}
}

// give hands t to an idle worker; it reports false when none is idle.
func (p *Pool) give(t task) bool {
	for i := range p.slots {
		s := &p.slots[i]
		for _, from := range [...]int32{spinning, sleeping} {
			if s.state.CompareAndSwap(from, claimed) {
				s.task = t
				s.state.Store(assigned)
				if from == sleeping {
					s.wake <- struct{}{}
				}
				return true
			}
		}
	}
	return false
}

var counters = sync.Pool{New: func() any { return new(atomic.Int32) }}

// For calls fn(part, lo, hi) over contiguous ranges covering [0, n), each
// a multiple of grain long (except the last), and waits for all of them.
// part is in [0, Threads()) and distinct for the ranges of one call, so fn
// may use it to index per-part scratch space.
func (p *Pool) For(n, grain int, fn func(part, lo, hi int)) { p.Run(n, grain, funcJob(fn)) }

// Run is For with a Job, which lets a caller that keeps its Job between
// calls run a loop without allocating.
func (p *Pool) Run(n, grain int, job Job) {
	if n <= 0 {
		return
	}
	grain = max(grain, 1)
	units := (n + grain - 1) / grain
	parts := min(p.threads, units)
	if parts <= 1 {
		job.Run(0, 0, n)
		return
	}
	bound := func(i int) int { return min(n, (units*i/parts)*grain) }
	done := counters.Get().(*atomic.Int32)
	done.Store(0)
	given := int32(0)
	var mine [8]int // parts no worker took
	own := mine[:0]
	for i := 1; i < parts; i++ {
		if p.give(task{job: job, part: i, lo: bound(i), hi: bound(i + 1), done: done}) {
			given++
		} else {
			own = append(own, i)
		}
	}
	job.Run(0, 0, bound(1))
	for _, i := range own {
		job.Run(i, bound(i), bound(i+1))
	}
	// The other parts usually end within microseconds of this one: poll,
	// then yield the processor while they take longer.
	tw := time.Now()
	for i := 0; done.Load() < given; i++ {
		if i > 256 {
			runtime.Gosched()
		}
	}
	Wait += time.Since(tw)
	Regions++
	counters.Put(done)
}

var Wait time.Duration
var Regions int

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.once.Do(func() {
		p.closed.Store(true)
		for i := range p.slots {
			select {
			case p.slots[i].wake <- struct{}{}:
			default:
			}
		}
	})
}
