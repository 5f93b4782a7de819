package parallel

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFor(t *testing.T) {
	for _, threads := range []int{0, 1, 2, 3, 8} {
		p := New(threads)
		for _, n := range []int{0, 1, 2, 7, 64, 1000} {
			for _, grain := range []int{0, 1, 4, 33} {
				hits := make([]int32, n)
				var busy [8]atomic.Bool
				p.For(n, grain, func(part, lo, hi int) {
					require.Less(t, part, max(threads, 1))
					require.False(t, busy[part].Swap(true), "part %d in two calls at once", part)
					defer busy[part].Store(false)
					require.Less(t, lo, hi)
					if grain > 1 {
						require.Zero(t, lo%grain)
						if hi != n {
							require.Zero(t, (hi-lo)%grain)
						}
					}
					for i := lo; i < hi; i++ {
						atomic.AddInt32(&hits[i], 1)
					}
				})
				for i, h := range hits {
					require.EqualValues(t, 1, h, "threads=%d n=%d grain=%d i=%d", threads, n, grain, i)
				}
			}
		}
		p.Close()
		p.Close()
	}
}

func TestConcurrentCallers(t *testing.T) {
	p := New(3)
	defer p.Close()
	var wg sync.WaitGroup
	var total atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				p.For(100, 1, func(_, lo, hi int) { total.Add(int64(hi - lo)) })
			}
		}()
	}
	wg.Wait()
	require.EqualValues(t, 8*100*100, total.Load())
}

// TestBalance: when one thread is slow, the others take over its part.
func TestBalance(t *testing.T) {
	p := New(2)
	defer p.Close()
	var done [2]atomic.Int64
	p.For(1000, 1, func(part, lo, hi int) {
		switch {
		case part == 1:
			time.Sleep(time.Duration(hi-lo) * 100 * time.Microsecond)
		case lo == 0:
			time.Sleep(10 * time.Millisecond) // let the worker start
		}
		done[part].Add(int64(hi - lo))
	})
	require.EqualValues(t, 1000, done[0].Load()+done[1].Load())
	// The slow thread's first piece is 7/8 of its half: the fast thread
	// takes over the rest.
	require.GreaterOrEqual(t, done[0].Load(), int64(500+500/8), "the fast thread did the rest")
}

type countJob struct{ total atomic.Int64 }

func (j *countJob) Run(_, lo, hi int) { j.total.Add(int64(hi - lo)) }

// TestRunAllocatesNothing: a forward pass runs hundreds of loops a token.
func TestRunAllocatesNothing(t *testing.T) {
	p := New(2)
	defer p.Close()
	j := new(countJob)
	allocs := testing.AllocsPerRun(200, func() { p.Run(1000, 4, j) })
	require.Zero(t, allocs)
	require.EqualValues(t, 201*1000, j.total.Load())
}
