package parallel

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFor(t *testing.T) {
	for _, threads := range []int{0, 1, 2, 3, 8} {
		p := New(threads)
		for _, n := range []int{0, 1, 2, 7, 64, 1000} {
			for _, grain := range []int{0, 1, 4, 33} {
				hits := make([]int32, n)
				var parts sync.Map
				p.For(n, grain, func(part, lo, hi int) {
					_, dup := parts.LoadOrStore(part, true)
					require.False(t, dup, "part %d used twice", part)
					require.Less(t, part, max(threads, 1))
					if grain > 1 && hi != n {
						require.Zero(t, (hi-lo)%grain)
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
