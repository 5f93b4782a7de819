// Command bench measures load time, prefill and decode speed, peak memory
// and memory bandwidth use of a BitNet model, and prints one JSON line.
//
//	go run ./examples/bench -make-model /tmp/b2b        # write a 2B4T-shaped model (random weights)
//	go run ./examples/bench -model /tmp/b2b/bitnet-2b4t-shaped.gguf -threads 2 -prompt 128 -gen 64
//
// The read bandwidth of the machine is measured first (a plain parallel
// sum over a large buffer), so that decode speed can be judged against it:
// decode_bandwidth_fraction is the bytes a decode token reads (ternary
// weights and output matrix) times tokens per second, over that bandwidth.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/org/bitnet"
	"github.com/org/bitnet/internal/gguf"
	"github.com/org/bitnet/internal/modelgen"
)

type report struct {
	Model                   string  `json:"model"`
	Threads                 int     `json:"threads"`
	CPU                     string  `json:"cpu_tier,omitempty"`
	OutputInt8              bool    `json:"output_int8,omitempty"`
	Mmap                    bool    `json:"mmap,omitempty"`
	FileMB                  float64 `json:"file_mb"`
	LoadS                   float64 `json:"load_s"`
	PromptTokens            int     `json:"prompt_tokens"`
	GenTokens               int     `json:"gen_tokens"`
	PrefillTokensPerS       float64 `json:"prefill_tokens_per_s"`
	DecodeTokensPerS        float64 `json:"decode_tokens_per_s"`
	PeakRSSMB               float64 `json:"peak_rss_mb"`
	HugePagesMB             float64 `json:"huge_pages_mb"`
	KVCacheMB               float64 `json:"kv_cache_mb"`
	ReadGBPerS              float64 `json:"read_gb_per_s"`
	DecodeGBPerToken        float64 `json:"decode_gb_per_token"`
	DecodeBandwidthFraction float64 `json:"decode_bandwidth_fraction"`
}

func main() {
	model := flag.String("model", "", "GGUF model file or Hugging Face directory")
	threads := flag.Int("threads", runtime.NumCPU(), "threads")
	prompt := flag.Int("prompt", 128, "prompt tokens")
	gen := flag.Int("gen", 64, "generated tokens")
	makeModel := flag.String("make-model", "", "write a 2B4T-shaped model with random weights into this directory and exit")
	vocab := flag.String("vocab", filepath.Join("testdata", "tokenizer", "llama3-vocab.gguf"), "GGUF file whose tokenizer the made model gets")
	readMB := flag.Int("read-mb", 1024, "size of the read-bandwidth buffer in MB (0: skip)")
	int8Out := flag.Bool("output-int8", false, "keep the output matrix as int8 (bitnet.WithOutputInt8)")
	useMmap := flag.Bool("mmap", false, "serve the weights from the file mapping (bitnet.WithMmap)")
	batch := flag.Int("batch", 128, "prompt tokens per forward pass (bitnet.WithBatchSize)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the decode phase to this file")
	flag.Parse()

	if *makeModel != "" {
		if err := writeModel(*makeModel, *vocab); err != nil {
			fail(err)
		}
		return
	}
	if *model == "" {
		fail(fmt.Errorf("-model or -make-model is required"))
	}
	var r report
	r.Model, r.Threads, r.CPU = filepath.Base(*model), *threads, os.Getenv("BITNET_CPU")
	if *readMB > 0 {
		r.ReadGBPerS = readBandwidth(*readMB<<20, *threads)
		debug.FreeOSMemory()
	}
	resetPeakRSS()

	start := time.Now()
	opts := []bitnet.LoadOption{bitnet.WithThreads(*threads), bitnet.WithContextSize(*prompt + *gen + 8), bitnet.WithBatchSize(*batch)}
	if *int8Out {
		opts = append(opts, bitnet.WithOutputInt8())
	}
	if *useMmap {
		opts = append(opts, bitnet.WithMmap())
	}
	m, err := bitnet.Load(*model, opts...)
	if err != nil {
		fail(err)
	}
	r.LoadS = time.Since(start).Seconds()
	info := m.Info()
	r.FileMB = float64(info.FileSize) / 1e6
	r.KVCacheMB = float64(info.Layers*2*info.ContextSize*info.KVHeads*info.HeadDim*4) / 1e6

	s, err := m.NewSession()
	if err != nil {
		fail(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]int, *prompt)
	for i := range ids {
		ids[i] = rng.IntN(min(info.VocabSize, 128000))
	}
	ctx := context.Background()
	start = time.Now()
	if err := s.Eval(ctx, ids); err != nil {
		fail(err)
	}
	r.PromptTokens = *prompt
	r.PrefillTokensPerS = float64(*prompt) / time.Since(start).Seconds()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fail(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	start = time.Now()
	for i := 0; i < *gen; i++ {
		next := argmax(s.Logits())
		if err := s.Eval(ctx, []int{next}); err != nil {
			fail(err)
		}
	}
	r.GenTokens = *gen
	if *gen > 0 {
		r.DecodeTokensPerS = float64(*gen) / time.Since(start).Seconds()
	}
	r.PeakRSSMB = peakRSSMB()
	r.HugePagesMB = procKB("/proc/self/smaps_rollup", "AnonHugePages:") / 1024
	r.DecodeGBPerToken = decodeBytes(info, *int8Out) / 1e9
	r.OutputInt8, r.Mmap = *int8Out, *useMmap
	if r.ReadGBPerS > 0 {
		r.DecodeBandwidthFraction = r.DecodeTokensPerS * r.DecodeGBPerToken / r.ReadGBPerS
	}
	m.Close()
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

// decodeBytes estimates the weight bytes one decode token reads: every
// ternary projection at 2 bits a weight and the f16 output matrix.
func decodeBytes(info bitnet.ModelInfo, int8Out bool) float64 {
	qkv := info.Heads*info.HeadDim + 2*info.KVHeads*info.HeadDim
	perLayer := float64(info.Hidden*(qkv+info.Heads*info.HeadDim) + 3*info.Hidden*info.FFN)
	out := float64(info.VocabSize*info.Hidden) * 2
	if int8Out {
		out /= 2
	}
	return float64(info.Layers)*perLayer/4 + out
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// readBandwidth returns the GB/s of a plain parallel read over size bytes
// (best of several passes).
func readBandwidth(size, threads int) float64 {
	buf := make([]uint64, size/8)
	for i := range buf {
		buf[i] = uint64(i)
	}
	best := 0.0
	var sink uint64
	for pass := 0; pass < 5; pass++ {
		start := time.Now()
		var wg sync.WaitGroup
		sums := make([]uint64, threads*8)
		for t := 0; t < threads; t++ {
			wg.Add(1)
			go func(t int) {
				defer wg.Done()
				part := buf[len(buf)*t/threads : len(buf)*(t+1)/threads]
				var a, b, c, d uint64
				for i := 0; i+4 <= len(part); i += 4 {
					a += part[i]
					b += part[i+1]
					c += part[i+2]
					d += part[i+3]
				}
				sums[t*8] = a + b + c + d
			}(t)
		}
		wg.Wait()
		for _, s := range sums {
			sink += s
		}
		best = max(best, float64(size)/time.Since(start).Seconds()/1e9)
	}
	if sink == 42 {
		fmt.Fprint(os.Stderr, "")
	}
	return best
}

// resetPeakRSS restarts the kernel's peak-RSS counter (Linux).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB reads VmHWM from /proc/self/status (Linux; 0 elsewhere).
func peakRSSMB() float64 { return procKB("/proc/self/status", "VmHWM:") / 1024 }

// procKB reads the "key: N kB" line of a /proc file (0 when absent): the
// huge pages of the process (AnonHugePages of smaps_rollup) tell whether
// the weights got them.
func procKB(path, key string) float64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb)
		}
	}
	return 0
}

func writeModel(dir, vocabPath string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	spec := modelgen.TwoB4T
	if vocabPath != "" {
		v, err := gguf.Open(vocabPath)
		if err != nil {
			return fmt.Errorf("vocabulary: %w", err)
		}
		defer v.Close()
		spec.VocabFrom = v
	}
	p := filepath.Join(dir, "bitnet-2b4t-shaped.gguf")
	start := time.Now()
	if err := spec.WriteFile(p); err != nil {
		return err
	}
	st, _ := os.Stat(p)
	fmt.Fprintf(os.Stderr, "wrote %s (%.1f MB) in %.1fs\n", p, float64(st.Size())/1e6, time.Since(start).Seconds())
	fmt.Println(p)
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
