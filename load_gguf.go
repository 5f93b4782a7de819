package bitnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"unsafe"

	"github.com/org/bitnet/internal/convert"
	"github.com/org/bitnet/internal/gguf"
	"github.com/org/bitnet/internal/mmap"
	"github.com/org/bitnet/internal/ternary"
)

func pow(x, y float64) float64 { return math.Pow(x, y) }

// loadGGUF reads a GGUF model: hyper-parameters from the metadata under
// "<arch>.", tensors by their llama.cpp names.
func loadGGUF(path string, r *residency) (*Model, error) {
	name := filepath.Base(path)
	f, err := gguf.Open(path)
	if err != nil {
		return nil, wrapGGUFError(name, err)
	}
	m, err := modelFromGGUF(name, f, r)
	if err != nil {
		f.Close()
		return nil, err
	}
	m.closer = f.Close
	return m, nil
}

func wrapGGUFError(name string, err error) error {
	switch {
	case errors.Is(err, gguf.ErrUnsupported):
		return fmt.Errorf("%w: %s: %v", ErrUnsupported, name, err)
	case errors.Is(err, gguf.ErrFormat):
		return fmt.Errorf("%w: %s: %v", ErrInvalidModel, name, err)
	}
	return fmt.Errorf("bitnet: %s: %w", name, err)
}

// modelFromGGUF builds the model; with r, the projections move into r's
// arena as they are read.
func modelFromGGUF(name string, f *gguf.File, r *residency) (*Model, error) {
	h, err := convert.GGUFHeader(name, f)
	if err != nil {
		return nil, sourceError(err)
	}
	arch := h.Arch
	c := configFrom(h) // vocab comes from token_embd below

	tl := tensorLoader{f: f, file: name}
	m := &Model{cfg: c}
	w := &m.w
	embd, err := tl.floatMatrix("token_embd.weight", c.dim)
	if err != nil {
		return nil, err
	}
	m.cfg.vocab = embd.rows
	if v, ok := f.GetUint(arch + ".vocab_size"); ok && v != uint64(embd.rows) {
		return nil, errInvalid(name, "%s.vocab_size = %d but token_embd.weight has %d rows", arch, v, embd.rows)
	}
	w.embed = embd
	w.output = embd
	_, untied := f.Tensor("output.weight")
	if untied {
		if w.output, err = tl.floatMatrix("output.weight", c.dim); err != nil {
			return nil, err
		}
		if w.output.rows != embd.rows {
			return nil, errInvalid(name, "tensor output.weight has %d rows, token_embd.weight %d", w.output.rows, embd.rows)
		}
	}
	if w.outputNorm, err = tl.vector("output_norm.weight", c.dim); err != nil {
		return nil, err
	}
	if _, ok := f.Tensor("rope_freqs.weight"); ok {
		if w.ropeFreqs, err = tl.vector("rope_freqs.weight", c.ropeDim/2); err != nil {
			return nil, err
		}
	}
	if w.layers, err = loadLayers(&m.cfg, tl.vector, r.projections(tl.ternary)); err != nil {
		return nil, err
	}

	tok, err := newTokenizerFromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, name)
	}
	m.tok = tok
	m.info = m.cfg.info()
	m.info.Format = "gguf"
	m.info.WeightType, m.info.EmbeddingType = tl.ternaryType, tl.embedType
	m.info.Parameters, m.info.TiedEmbeddings = tl.params, !untied
	m.info.Name, _ = f.GetString("general.name")
	return m, nil
}

// tensorLoader reads tensors by name, checking shapes and types, and keeps
// track of which tensors were used.
type tensorLoader struct {
	f           *gguf.File
	file        string
	used        map[string]bool
	params      int64
	ternaryType string
	embedType   string
}

func (tl *tensorLoader) get(name string, dims ...int) (*gguf.TensorInfo, []byte, error) {
	t, ok := tl.f.Tensor(name)
	if !ok {
		return nil, nil, errInvalid(tl.file, "tensor %s is missing", name)
	}
	if tl.used == nil {
		tl.used = map[string]bool{}
	}
	tl.used[name] = true
	same := len(t.Dims) == len(dims)
	for i := 0; same && i < len(dims); i++ {
		same = dims[i] < 0 || t.Dims[i] == uint64(dims[i])
	}
	if !same {
		want := fmt.Sprint(dims)
		return nil, nil, errInvalid(tl.file, "tensor %s has shape %v, want %s", name, t.Dims, want)
	}
	tl.params += int64(t.Elements())
	return t, tl.f.TensorData(t), nil
}

// vector reads a 1-D float tensor of n values (F32, F16 or BF16) as f32.
func (tl *tensorLoader) vector(name string, n int) ([]float32, error) {
	t, data, err := tl.get(name, n)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	switch t.Type {
	case gguf.F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	case gguf.F16, gguf.BF16:
		fm := floatMatrix{rows: 1, cols: n}
		fm.setHalf(t.Type, data)
		fm.row(out, 0)
	default:
		return nil, errUnsupported(tl.file, "tensor %s has type %v, want F32, F16 or BF16", name, t.Type)
	}
	return out, nil
}

// floatMatrix reads a [rows][cols] float tensor (ne = cols, rows) in place.
func (tl *tensorLoader) floatMatrix(name string, cols int) (floatMatrix, error) {
	t, data, err := tl.get(name, cols, -1)
	if err != nil {
		return floatMatrix{}, err
	}
	fm := floatMatrix{rows: int(t.Dims[1]), cols: cols}
	switch t.Type {
	case gguf.F32:
		fm.f32 = unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(data))), len(data)/4)
	case gguf.F16, gguf.BF16:
		fm.setHalf(t.Type, data)
	default:
		return floatMatrix{}, errUnsupported(tl.file, "tensor %s has type %v, want F32, F16 or BF16", name, t.Type)
	}
	if name == "token_embd.weight" {
		tl.embedType = t.Type.String()
	}
	return fm, nil
}

// setHalf points the matrix at 16-bit data in place. GGUF data is aligned
// to at least 32 bytes, so the uint16 view is aligned.
func (fm *floatMatrix) setHalf(typ gguf.TensorType, data []byte) {
	h := unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(data))), len(data)/2)
	if typ == gguf.F16 {
		fm.f16 = h
	} else {
		fm.bf16 = h
	}
}

// ternary reads a projection of rows×cols weights (ne = cols, rows).
func (tl *tensorLoader) ternary(name string, rows, cols int) (bitLinear, error) {
	t, data, err := tl.get(name, cols, rows)
	if err != nil {
		return bitLinear{}, err
	}
	m, err := ternary.FromGGUF(t.Type, data, rows, cols)
	if errors.Is(err, ternary.ErrType) {
		return bitLinear{}, errUnsupported(tl.file, "tensor %s has type %v; ternary projections must be I2_S, TQ1_0, TQ2_0, F32, F16 or BF16", name, t.Type)
	}
	if err != nil {
		return bitLinear{}, errInvalid(tl.file, "tensor %s: %v", name, err)
	}
	if !m.InPlace {
		// Decoded into a copy: the file's pages are not read again.
		mmap.ReleaseMapped(data)
	}
	if tl.ternaryType == "" {
		tl.ternaryType = t.Type.String()
	} else if tl.ternaryType != t.Type.String() {
		tl.ternaryType = "mixed"
	}
	lin := bitLinear{w: m, scale: 1}
	// Optional per-projection output scale (llama.cpp's bitnet files).
	sname := name[:len(name)-len("weight")] + "scale"
	if _, ok := tl.f.Tensor(sname); ok {
		s, err := tl.vector(sname, 1)
		if err != nil {
			return bitLinear{}, err
		}
		lin.scale = s[0]
	}
	return lin, nil
}

// loadGGUFBytes reads a GGUF model held in memory; the model refers to
// data, which must not change while the model is used.
func loadGGUFBytes(name string, data []byte) (*Model, error) {
	f, err := gguf.Parse(data)
	if err != nil {
		return nil, wrapGGUFError(name, err)
	}
	return modelFromGGUF(name, f, nil)
}
