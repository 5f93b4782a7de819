package bitnet

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/org/bitnet/internal/mmap"
	"github.com/org/bitnet/internal/parallel"
)

// LoadOption configures Load.
type LoadOption func(*loadConfig)

type loadConfig struct {
	threads    int
	ctxSize    int
	maxBatch   int
	outputInt8 bool
	mmap       bool // WithMmap
}

// WithThreads sets the kernel parallelism: the number of goroutines that
// share the work of one token. The default is runtime.NumCPU().
func WithThreads(n int) LoadOption { return func(c *loadConfig) { c.threads = n } }

// WithContextSize sets the KV cache length of each session, in tokens. The
// default is the model's context length capped at 4096.
func WithContextSize(n int) LoadOption { return func(c *loadConfig) { c.ctxSize = n } }

// WithBatchSize sets how many prompt tokens go through the model in one
// pass (default 128). Larger batches read the weights fewer times but need
// more scratch memory per session.
func WithBatchSize(n int) LoadOption { return func(c *loadConfig) { c.maxBatch = n } }

// WithOutputInt8 keeps the output matrix (the tied embedding) as int8 with
// one scale per row, computed at load. A decode token then reads about 330
// MB less for 2B4T (the output matrix is half of a token's memory traffic),
// at the cost of a slower load and logits that differ slightly from the
// exact ones (argmax and logits stay within the golden tolerance on the
// reference models). The default keeps the file's f16/bf16/f32 matrix.
func WithOutputInt8() LoadOption { return func(c *loadConfig) { c.outputInt8 = true } }

// WithMmap serves the weights straight from the memory-mapped file. By
// default Load copies the ternary projections and the output matrix into
// the process's own memory (on transparent huge pages where the system has
// them) and gives the file's pages back as it goes: loading takes a few
// tenths of a second longer and the memory is not shared with other
// processes, but decoding, which streams every weight once per token, runs
// 10-40% faster. With WithMmap, loading is quicker and the pages stay in
// the page cache, shared. LoadGGUF always uses the caller's bytes in place.
func WithMmap() LoadOption { return func(c *loadConfig) { c.mmap = true } }

// Model is a loaded BitNet model. Its methods are safe for concurrent use;
// each Session belongs to one goroutine at a time.
type Model struct {
	cfg     config
	w       weights
	info    ModelInfo
	tok     *Tokenizer
	pool    *parallel.Pool
	ctxSize int
	batch   int
	invFreq []float64 // RoPE inverse frequencies

	sessions atomic.Int64 // open sessions

	closer func() error // releases the mapping
	arena  *mmap.Arena  // the weights copied into memory, or nil
	mu     sync.RWMutex // held for reading while a forward pass runs
	closed bool
}

// ModelInfo describes a loaded model.
type ModelInfo struct {
	Architecture   string // "bitnet-b1.58", "bitnet-25" or "bitnet"
	Name           string // general.name, if the file has one
	Format         string // "gguf" or "safetensors"
	WeightType     string // storage of the ternary projections: "I2_S", "TQ1_0", "TQ2_0", "F32", "F16", "BF16", "U8 packed"
	EmbeddingType  string // storage of the token embedding
	OutputType     string // storage of the output matrix used for the logits
	Activation     string // feed-forward gate activation: "relu2" or "silu"
	Hidden         int    // embedding width
	Layers         int
	Heads          int
	KVHeads        int
	HeadDim        int
	FFN            int // feed-forward width
	VocabSize      int // rows of the embedding / output matrix
	ContextLength  int // the model's trained context
	ContextSize    int // KV cache length of each session
	RopeTheta      float64
	Parameters     int64 // total parameter count
	TiedEmbeddings bool  // the output matrix is the token embedding
	FileSize       int64 // bytes of the GGUF file (0 for a Hugging Face directory)
}

// Load opens a model: a GGUF file (bitnet.cpp's I2_S files with
// architecture "bitnet-b1.58" or "bitnet-25", llama.cpp's "bitnet" files
// with TQ1_0, TQ2_0, F16, BF16 or F32 weights) or a Hugging Face model
// directory. Weights are memory-mapped where the format allows it; Close
// releases them.
func Load(path string, opts ...LoadOption) (*Model, error) {
	lc, err := loadOptions(opts)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("bitnet: %w", err)
	}
	pool := parallel.New(lc.threads)
	var r *residency // weights copied into memory as they are read
	if !lc.mmap {
		r = newResidency(pool)
	}
	var m *Model
	if st.IsDir() {
		m, err = loadHF(path, r)
	} else {
		m, err = loadGGUF(path, r)
	}
	if err != nil {
		pool.Close()
		if r != nil {
			r.arena.Close()
		}
		return nil, err
	}
	m.pool = pool
	if r != nil {
		m.arena = r.arena
	}
	if !st.IsDir() {
		m.info.FileSize = st.Size()
	}
	if err := m.finish(lc, r); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// LoadGGUF loads a GGUF model held in memory, such as one embedded in the
// program with go:embed. The model refers to data, which must not change
// while the model is used.
func LoadGGUF(data []byte, opts ...LoadOption) (*Model, error) {
	lc, err := loadOptions(opts)
	if err != nil {
		return nil, err
	}
	m, err := loadGGUFBytes("model.gguf", data)
	if err != nil {
		return nil, err
	}
	m.info.FileSize = int64(len(data))
	m.pool = parallel.New(lc.threads)
	if err := m.finish(lc, nil); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func loadOptions(opts []LoadOption) (loadConfig, error) {
	lc := loadConfig{threads: runtime.NumCPU(), maxBatch: 128}
	for _, o := range opts {
		o(&lc)
	}
	if lc.threads < 1 {
		return lc, fmt.Errorf("bitnet: WithThreads(%d): need at least 1", lc.threads)
	}
	if lc.ctxSize < 0 {
		return lc, fmt.Errorf("bitnet: WithContextSize(%d): negative", lc.ctxSize)
	}
	lc.maxBatch = max(lc.maxBatch, 1)
	return lc, nil
}

// finish applies the load options and derives run-time tables; the
// model's pool is running.
func (m *Model) finish(lc loadConfig, r *residency) error {
	c := &m.cfg
	m.ctxSize = lc.ctxSize
	if m.ctxSize == 0 {
		m.ctxSize = min(c.ctx, 4096)
	}
	m.batch = lc.maxBatch
	switch {
	case lc.outputInt8:
		if err := m.w.output.quantizeInt8(m.pool, r); err != nil {
			return err
		}
	case r != nil:
		if err := m.placeOutput(r); err != nil {
			return err
		}
	}
	m.info.OutputType = m.w.output.typeName()
	half := c.ropeDim / 2
	m.invFreq = make([]float64, half)
	for i := range m.invFreq {
		f := 1 / pow(c.ropeTheta, float64(2*i)/float64(c.ropeDim))
		if m.w.ropeFreqs != nil {
			f /= float64(m.w.ropeFreqs[i])
		}
		m.invFreq[i] = f
	}
	m.info.ContextSize = m.ctxSize
	runtime.SetFinalizer(m, func(m *Model) { m.Close() })
	return nil
}

// Close releases the model's memory mapping and workers. Sessions and
// calls made afterwards return ErrClosed. Close waits for running
// evaluations to finish.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.pool.Close()
	runtime.SetFinalizer(m, nil)
	err := m.arena.Close()
	if m.closer != nil {
		err = errors.Join(err, m.closer())
	}
	return err
}

// Info describes the model.
func (m *Model) Info() ModelInfo { return m.info }

// Tokenizer returns the model's tokenizer.
func (m *Model) Tokenizer() *Tokenizer { return m.tok }

// acquire locks the model for a forward pass; it fails after Close.
func (m *Model) acquire() error {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (m *Model) release() { m.mu.RUnlock() }

// errInvalid and errUnsupported build errors that wrap the sentinels and
// name the file and what was wrong.
func errInvalid(file, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidModel, file, fmt.Sprintf(format, args...))
}

func errUnsupported(file, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrUnsupported, file, fmt.Sprintf(format, args...))
}
