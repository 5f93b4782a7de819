package kernels

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// Benchmarks run single-threaded at the shapes of bitnet-b1.58-2B-4T and
// call b.SetBytes with the weight bytes read per call, so MB/s is weight
// bandwidth; compare it with BenchmarkRead, a plain read loop. The matrices
// of the plain benchmarks stay in the last-level cache between calls; the
// Cold variants cycle through enough copies to read from memory.
//
//	go test -run '^$' -bench . -count 5 ./internal/kernels

// i2sShapes are the decode projections: q and o, k and v, gate and up, down.
var i2sShapes = []struct{ m, k int }{{2560, 2560}, {640, 2560}, {6912, 2560}, {2560, 6912}}

func forEachImplB(b *testing.B, f func(b *testing.B)) {
	for _, im := range implementations {
		b.Run("impl="+im.name, func(b *testing.B) {
			if !im.available {
				b.Skipf("%s: not supported here (or capped by BITNET_CPU)", im.name)
			}
			defer selectImplementation(im.name)()
			f(b)
		})
	}
}

func BenchmarkMatVecI2S(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	forEachImplB(b, func(b *testing.B) {
		for _, s := range i2sShapes {
			b.Run(fmt.Sprintf("m=%d/k=%d", s.m, s.k), func(b *testing.B) {
				w := randomI2S(b, rng, s.m, s.k, 2)
				q := randomI8(b, rng, s.k)
				dst := make([]int32, s.m)
				b.SetBytes(int64(len(w)))
				for b.Loop() {
					MatVecI2S(dst, w, q)
				}
			})
		}
	})
}

// coldSet is the bytes of weights the Cold benchmarks cycle through, well
// above any last-level cache.
const coldSet = 512 << 20

func BenchmarkMatVecI2SCold(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	const m, k = 6912, 2560
	size := m * k / 4
	copies := coldSet / size
	w := make([]byte, copies*size)
	for i := range w {
		w[i] = byte(rng.Uint32()) & 0x55 << rng.IntN(2) // codes 0..2
	}
	q := randomI8(b, rng, k)
	dst := make([]int32, m)
	forEachImplB(b, func(b *testing.B) {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("m=%d/k=%d/threads=%d", m, k, threads), func(b *testing.B) {
				b.SetBytes(int64(size))
				i := 0
				for b.Loop() {
					mat := w[i*size : (i+1)*size]
					inParallel(threads, m, func(lo, hi int) {
						MatVecI2S(dst[lo:hi], mat[lo*k/4:hi*k/4], q)
					})
					i = (i + 1) % copies
				}
			})
		}
	})
}

// inParallel splits rows 0..n into threads contiguous parts, as the
// model's pool does, and waits for them.
func inParallel(threads, n int, f func(lo, hi int)) {
	if threads == 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(n*i/threads, n*(i+1)/threads)
		}()
	}
	wg.Wait()
}

func BenchmarkMatMulI2S(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	forEachImplB(b, func(b *testing.B) {
		for _, s := range []struct{ m, k, n int }{{2560, 2560, 32}, {6912, 2560, 32}, {2560, 6912, 32}, {2560, 2560, 8}} {
			b.Run(fmt.Sprintf("m=%d/k=%d/n=%d", s.m, s.k, s.n), func(b *testing.B) {
				w := randomI2S(b, rng, s.m, s.k, 2)
				q := randomI8(b, rng, s.n*s.k)
				dst := make([]int32, s.m*s.n)
				b.SetBytes(int64(len(w)))
				start := time.Now()
				for b.Loop() {
					MatMulI2S(dst, s.m, w, s.m, q, s.k, s.n)
				}
				macs := float64(s.m*s.k*s.n) * float64(b.N)
				b.ReportMetric(macs/time.Since(start).Seconds()/1e9, "GMAC/s")
			})
		}
	})
}

func BenchmarkQuantizeI8(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 4))
	forEachImplB(b, func(b *testing.B) {
		for _, n := range []int{2560, 6912} {
			b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
				x := randomF32(b, rng, n)
				q := make([]int8, n)
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					QuantizeI8(q, x)
				}
			})
		}
	})
}

// The output matrix (tied embedding) of 2B4T: 128256 × 2560 f16, 657 MB,
// larger than any cache.
var outputMatrix []uint16

func BenchmarkMatVecF16(b *testing.B) {
	const m, k = 128256, 2560
	if outputMatrix == nil {
		rng := rand.New(rand.NewPCG(5, 5))
		outputMatrix = make([]uint16, m*k)
		for i := range outputMatrix {
			outputMatrix[i] = 0x2000 | uint16(rng.UintN(0x1000)) | uint16(rng.UintN(2))<<15
		}
	}
	x := randomF32(b, rand.New(rand.NewPCG(6, 6)), k)
	dst := make([]float32, m)
	forEachImplB(b, func(b *testing.B) {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("m=%d/k=%d/threads=%d", m, k, threads), func(b *testing.B) {
				b.SetBytes(int64(2 * len(outputMatrix)))
				for b.Loop() {
					inParallel(threads, m, func(lo, hi int) {
						MatVecF16(dst[lo:hi], outputMatrix[lo*k:hi*k], x)
					})
				}
			})
		}
	})
}

// BenchmarkRead sums a []uint64 with four accumulators: the bandwidth a
// streaming kernel can hope for, from cache (the sizes of the I2_S
// matrices) and from memory.
func BenchmarkRead(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1.6MB", 2560 * 2560 / 4}, {"4.4MB", 6912 * 2560 / 4}, {"512MB", coldSet}} {
		buf := make([]uint64, size.bytes/8)
		for i := range buf {
			buf[i] = uint64(i)
		}
		for _, threads := range []int{1, 2} {
			if threads > 1 && size.bytes < coldSet {
				continue
			}
			b.Run(fmt.Sprintf("size=%s/threads=%d", size.name, threads), func(b *testing.B) {
				b.SetBytes(int64(8 * len(buf)))
				var total [2]uint64
				for b.Loop() {
					inParallel(threads, len(buf), func(lo, hi int) {
						total[lo*threads/len(buf)] += sum4(buf[lo:hi])
					})
				}
				if total[0]+total[1] == 1 {
					b.Log(total)
				}
			})
		}
	}
}

func sum4(s []uint64) uint64 {
	var a, b, c, d uint64
	for len(s) >= 4 {
		a += s[0]
		b += s[1]
		c += s[2]
		d += s[3]
		s = s[4:]
	}
	for _, v := range s {
		a += v
	}
	return a + b + c + d
}
