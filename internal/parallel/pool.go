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
// Parts are balanced as they run: a thread takes its part a piece at a
// time from the front, and one that has finished takes pieces from the back
// of the others' parts, so a thread that started late or ran slower (the
// machine is shared) does not hold up the loop. The pieces shrink as a part
// runs out: seven eighths of what is left for its owner (few pieces: a
// kernel call streams best when long), half of it for a thief.
//
// Workers poll their slot for a while after a task, since the next loop of
// a forward pass follows within microseconds, and then sleep until woken.
type Pool struct {
	threads int
	slots   []slot
	closed  atomic.Bool
	once    sync.Once
	// own is the loop state of the caller that holds ownBusy, so that the
	// usual single caller never allocates; concurrent callers take one
	// from loops.
	own     loop
	ownBusy atomic.Bool
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
	job  Job
	part int
	loop *loop
}

// maxParts bounds the parts of one loop (and so the pool's threads).
const maxParts = 64

// loop is the shared state of one Run: what is left of each part, in
// units of grain, as lo<<32 | hi, each on its own cache line.
type loop struct {
	n, grain, parts int
	left            [maxParts]struct {
		w atomic.Uint64
		_ [56]byte
	}
	done atomic.Int32 // workers finished
}

// claim takes a piece of what is left of part i: its owner takes 7/8 of
// it from the front, a thief half of it from the back. ok is false when
// the part is used up.
func (l *loop) claim(i int, owner bool) (lo, hi int, ok bool) {
	w := &l.left[i].w
	for {
		v := w.Load()
		a, b := int(v>>32), int(uint32(v))
		if a >= b {
			return 0, 0, false
		}
		if owner {
			c := max(1, (b-a)*7/8)
			if w.CompareAndSwap(v, uint64(a+c)<<32|uint64(b)) {
				return a, a + c, true
			}
			continue
		}
		c := max(1, (b-a)/2)
		if w.CompareAndSwap(v, uint64(a)<<32|uint64(b-c)) {
			return b - c, b, true
		}
	}
}

// run does part's own work, then helps with the others' until none is
// left. part also names the thread to the job.
func (l *loop) run(job Job, part int) {
	do := func(a, b int) { job.Run(part, a*l.grain, min(l.n, b*l.grain)) }
	for {
		a, b, ok := l.claim(part, true)
		if !ok {
			break
		}
		do(a, b)
	}
	for k := 1; k < l.parts; k++ {
		i := (part + k) % l.parts
		for {
			a, b, ok := l.claim(i, false)
			if !ok {
				break
			}
			do(a, b)
		}
	}
}

// spinFor is how long an idle worker polls before it sleeps.
const spinFor = 200 * time.Microsecond

// New starts a pool for threads-way parallelism (threads−1 workers plus the
// caller). threads < 1 means 1; more than 64 means 64.
func New(threads int) *Pool {
	threads = min(max(threads, 1), maxParts)
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
		t.loop.run(t.job, t.part)
		t.loop.done.Add(1)
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

var loops = sync.Pool{New: func() any { return new(loop) }}

// For calls fn(part, lo, hi) over ranges that together cover [0, n) once,
// each a multiple of grain long (except the one that ends at n), and waits
// for all of them. part is in [0, Threads()) and names the thread making
// the call: calls with the same part never overlap in time, so fn may use
// it to index per-thread scratch space. A thread may make several calls.
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
	if parts <= 1 || uint64(units) >= 1<<32 { // a loop's bounds are 32-bit units
		job.Run(0, 0, n)
		return
	}
	l := &p.own
	if !p.ownBusy.CompareAndSwap(false, true) {
		l = loops.Get().(*loop)
	}
	l.n, l.grain, l.parts = n, grain, parts
	l.done.Store(0)
	for i := 0; i < parts; i++ {
		lo, hi := units*i/parts, units*(i+1)/parts
		l.left[i].w.Store(uint64(lo)<<32 | uint64(hi))
	}
	given := int32(0)
	for i := 1; i < parts; i++ {
		if p.give(task{job: job, part: i, loop: l}) {
			given++
		}
	}
	// The caller runs part 0, then whatever of the others (given or not)
	// is left.
	l.run(job, 0)
	// The workers' last pieces usually end within microseconds of this
	// one: poll, then yield the processor while they take longer.
	for i := 0; l.done.Load() < given; i++ {
		if i > 256 {
			runtime.Gosched()
		}
	}
	if l == &p.own {
		p.ownBusy.Store(false)
	} else {
		loops.Put(l)
	}
}

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
