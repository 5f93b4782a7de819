package bitnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/org/bitnet/internal/convert"
	"github.com/org/bitnet/internal/gguf"
)

// loadHF reads a Hugging Face checkpoint directory: config.json, the
// safetensors weights (one file or shards) and tokenizer.json. Packed and
// master weights become ternary matrices (FORMATS.md §3e, decisions 2 and
// 6); the embedding stays in its stored type, as a view of the mapped file
// where it is aligned.
func loadHF(dir string, r *residency) (*Model, error) {
	tokPath := filepath.Join(dir, convert.TokenizerFile)
	if _, err := os.Stat(tokPath); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s is missing", ErrInvalidModel, tokPath)
	}
	src, err := convert.OpenHF(dir)
	if err != nil {
		return nil, sourceError(err)
	}
	m, err := modelFromSource(src, r)
	if err != nil {
		src.Close()
		return nil, sourceError(err)
	}
	m.closer = src.Close
	tok, err := loadTokenizerJSON(dir)
	if err != nil {
		src.Close()
		return nil, err
	}
	m.tok = tok
	return m, nil
}

// sourceError turns the converter's errors into this package's: the same
// message under ErrInvalidModel or ErrUnsupported.
func sourceError(err error) error {
	var ce *convert.Error
	if !errors.As(err, &ce) {
		return err
	}
	kind := ErrInvalidModel
	if ce.Kind == convert.ErrUnsupported {
		kind = ErrUnsupported
	}
	switch {
	case ce.Msg == "":
		return fmt.Errorf("%w: %w", kind, ce.Err)
	case ce.Err != nil:
		return fmt.Errorf("%w: %s: %w", kind, ce.Msg, ce.Err)
	}
	return fmt.Errorf("%w: %s", kind, ce.Msg)
}

// configFrom reads the hyper-parameters of a checkpoint (HF or GGUF).
func configFrom(src *convert.Source) config {
	c := config{
		arch:      src.Arch,
		dim:       src.Hidden,
		layers:    src.Layers,
		heads:     src.Heads,
		kvHeads:   src.KVHeads,
		headDim:   src.HeadDim,
		ffn:       src.FFN,
		vocab:     src.Vocab,
		ctx:       src.Context,
		eps:       src.RMSNormEps,
		ropeTheta: src.RopeTheta,
		ropeDim:   src.RopeDim,
		act:       actReLU2,
	}
	if src.Activation == "silu" {
		c.act = actSiLU
	}
	return c
}

// modelFromSource builds a Model from an opened checkpoint; with r, the
// projections move into r's arena as they are read.
func modelFromSource(src *convert.Source, r *residency) (*Model, error) {
	c := configFrom(src)
	m := &Model{cfg: c}
	w := &m.w
	var err error
	if w.embed, err = sourceFloatMatrix(src, "token_embd.weight", c.vocab, c.dim); err != nil {
		return nil, err
	}
	w.output = w.embed
	if !src.Tied {
		if w.output, err = sourceFloatMatrix(src, "output.weight", c.vocab, c.dim); err != nil {
			return nil, err
		}
	}
	if w.outputNorm, err = src.Vector("output_norm.weight", c.dim); err != nil {
		return nil, err
	}
	w.layers, err = loadLayers(&c, src.Vector, r.projections(func(name string, rows, cols int) (bitLinear, error) {
		t, err := src.Ternary(name, rows, cols)
		if err == nil && !t.InPlace {
			src.Release(name) // read into a copy: the file's pages are not needed
		}
		return bitLinear{w: t, scale: 1}, err
	}))
	if err != nil {
		return nil, err
	}
	m.info = c.info()
	m.info.Name, m.info.Format = src.Name, src.Format
	m.info.WeightType, m.info.EmbeddingType = src.WeightType, src.EmbeddingType
	m.info.Parameters, m.info.TiedEmbeddings = src.Parameters(), src.Tied
	return m, nil
}

// sourceFloatMatrix returns a full-precision matrix in its stored type: a
// view of the file when the data is aligned for its element type (safetensors
// data need not be), a copy otherwise.
func sourceFloatMatrix(src *convert.Source, name string, rows, cols int) (floatMatrix, error) {
	t, err := src.Float(name, rows, cols)
	if err != nil {
		return floatMatrix{}, err
	}
	fm := floatMatrix{rows: rows, cols: cols}
	n := rows * cols
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(t.Data)))
	switch t.Type {
	case gguf.F32:
		if addr%4 == 0 {
			fm.f32 = unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(t.Data))), n)
		} else {
			fm.f32 = make([]float32, n)
			for i := range fm.f32 {
				fm.f32[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
			}
		}
	case gguf.F16, gguf.BF16:
		var h []uint16
		if addr%2 == 0 {
			h = unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(t.Data))), n)
		} else {
			h = make([]uint16, n)
			for i := range h {
				h[i] = binary.LittleEndian.Uint16(t.Data[2*i:])
			}
		}
		if t.Type == gguf.F16 {
			fm.f16 = h
		} else {
			fm.bf16 = h
		}
	default:
		return floatMatrix{}, errUnsupported(name, "type %v", t.Type)
	}
	return fm, nil
}
