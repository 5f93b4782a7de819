package convert

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/org/bitnet/internal/gguf"
	"github.com/org/bitnet/internal/kernels"
)

// Type is a weight type the converter writes.
type Type int

// Output types.
const (
	// I2S is bitnet.cpp's I2_S under architecture "bitnet-b1.58", with the
	// keys, key order and tensor types of the official 2B4T file
	// (FORMATS.md §3b, §3c): F16 token embedding, F32 norms.
	I2S Type = iota
	// TQ2 is llama.cpp's TQ2_0 under architecture "bitnet".
	TQ2
	// TQ1 is llama.cpp's TQ1_0 under architecture "bitnet".
	TQ1
)

// ParseType parses "i2_s", "tq2_0" or "tq1_0" (any case; the underscore
// may be left out).
func ParseType(s string) (Type, error) {
	switch strings.ReplaceAll(strings.ToLower(s), "_", "") {
	case "i2s":
		return I2S, nil
	case "tq20", "tq2":
		return TQ2, nil
	case "tq10", "tq1":
		return TQ1, nil
	}
	return 0, fmt.Errorf("bitnet: unknown output type %q (want i2_s, tq2_0 or tq1_0)", s)
}

// String returns the ggml name of the type: "I2_S", "TQ2_0" or "TQ1_0".
func (t Type) String() string {
	switch t {
	case TQ2:
		return "TQ2_0"
	case TQ1:
		return "TQ1_0"
	}
	return "I2_S"
}

func (t Type) tensorType() gguf.TensorType {
	switch t {
	case TQ2:
		return gguf.TQ2_0
	case TQ1:
		return gguf.TQ1_0
	}
	return gguf.I2_S
}

// fileType is general.file_type: LLAMA_FTYPE_MOSTLY_I2_S (bitnet.cpp),
// _TQ2_0 or _TQ1_0 (llama.cpp).
func (t Type) fileType() uint32 {
	switch t {
	case TQ2:
		return 37
	case TQ1:
		return 36
	}
	return 40
}

// Arch returns the architecture the type is written under.
func (t Type) Arch() string {
	if t == I2S {
		return "bitnet-b1.58"
	}
	return "bitnet"
}

// Options configures Write.
type Options struct {
	Type Type
	// Name is general.name; empty means the input's name.
	Name string
	// Progress, if not nil, is called as the output is written with the
	// bytes written so far and an estimate of the total; the last call has
	// written == total.
	Progress func(written, total int64)
}

// Convert converts the model at in (a Hugging Face directory or a GGUF
// file) to a GGUF file at out.
func Convert(in, out string, opts Options) error {
	src, err := Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	return Write(src, out, opts)
}

// Write writes src as a GGUF file at out. The file is written under a
// temporary name next to out and renamed when complete, so out is never
// left half written. Tensor data is produced one tensor at a time.
func Write(src *Source, out string, opts Options) error {
	if opts.Type < I2S || opts.Type > TQ1 {
		return fmt.Errorf("bitnet: output type %d", int(opts.Type))
	}
	if st, err := os.Stat(out); err == nil {
		if in, err := os.Stat(src.Path); err == nil && os.SameFile(st, in) {
			return fmt.Errorf("bitnet: the output %s is the input", out)
		}
	}
	w, total, err := newWriter(src, opts)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return fmt.Errorf("bitnet: %w", err)
	}
	pw := &progressWriter{w: tmp, total: total, fn: opts.Progress}
	_, err = w.WriteTo(pw)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = errWrite(out, cerr)
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644) // CreateTemp made it 0600
	}
	if err == nil {
		err = os.Rename(tmp.Name(), out)
	}
	if err != nil {
		os.Remove(tmp.Name())
		var ce *Error
		if !errors.As(err, &ce) && !strings.HasPrefix(err.Error(), "bitnet:") {
			err = errWrite(out, err)
		}
		return err
	}
	if opts.Progress != nil {
		opts.Progress(pw.n, pw.n)
	}
	return nil
}

// newWriter builds the GGUF writer for src: metadata now, tensor data
// produced when the file is written. It returns an estimate of the file
// size.
func newWriter(src *Source, opts Options) (*gguf.Writer, int64, error) {
	typ := opts.Type.tensorType()
	if opts.Type == I2S && src.Activation != "relu2" {
		return nil, 0, unsupported("%s: the gate activation is %s, but bitnet-b1.58 files (I2_S) always mean relu²; write tq2_0 or tq1_0", src.Path, src.Activation)
	}
	for _, t := range src.Tensors() {
		if t.Kind == KindTernary {
			if err := checkTernaryShape(typ, t.Name, t.Rows, t.Cols); err != nil {
				return nil, 0, err
			}
		}
	}
	v, err := src.b.vocab()
	if err != nil {
		return nil, 0, err
	}
	if err := fitVocab(v, src.Vocab); err != nil {
		return nil, 0, err
	}

	arch := opts.Type.Arch()
	name := opts.Name
	if name == "" {
		name = src.Name
	}
	w := gguf.NewWriter()
	a := arch + "."
	// The keys and their order of the official file (FORMATS.md §3c).
	w.Set("general.architecture", arch)
	w.Set("general.name", name)
	w.Set(a+"vocab_size", uint32(src.Vocab))
	w.Set(a+"context_length", uint32(src.Context))
	w.Set(a+"embedding_length", uint32(src.Hidden))
	w.Set(a+"block_count", uint32(src.Layers))
	w.Set(a+"feed_forward_length", uint32(src.FFN))
	w.Set(a+"rope.dimension_count", uint32(src.RopeDim))
	w.Set(a+"attention.head_count", uint32(src.Heads))
	w.Set(a+"attention.head_count_kv", uint32(src.KVHeads))
	if src.HeadDim*src.Heads != src.Hidden {
		w.Set(a+"attention.key_length", uint32(src.HeadDim))
		w.Set(a+"attention.value_length", uint32(src.HeadDim))
	}
	w.Set("tokenizer.ggml.add_bos_token", v.addBOS)
	w.Set(a+"attention.layer_norm_rms_epsilon", src.RMSNormEps)
	w.Set(a+"rope.freq_base", float32(src.RopeTheta))
	w.Set("general.file_type", opts.Type.fileType())
	w.Set("tokenizer.ggml.model", v.model)
	w.Set("tokenizer.ggml.tokens", v.tokens)
	scores := v.scores
	if scores == nil {
		scores = make([]float32, len(v.tokens))
	}
	w.Set("tokenizer.ggml.scores", scores)
	w.Set("tokenizer.ggml.token_type", v.types)
	if v.merges == nil {
		v.merges = []string{}
	}
	w.Set("tokenizer.ggml.merges", v.merges)
	for _, id := range []struct {
		key string
		v   int
	}{
		{"tokenizer.ggml.bos_token_id", v.bos},
		{"tokenizer.ggml.eos_token_id", v.eos},
		{"tokenizer.ggml.padding_token_id", v.pad},
	} {
		if id.v >= 0 {
			w.Set(id.key, uint32(id.v))
		}
	}
	tmpl := v.chatTemplate
	if tmpl == "" {
		tmpl = defaultChatTemplate
	}
	w.Set("tokenizer.chat_template", tmpl)
	w.Set("general.quantization_version", uint32(2))
	if arch == "bitnet" {
		// llama.cpp needs the pre-tokenizer named to use the Llama 3 split,
		// and this library reads the activation from hidden_activation
		// (FORMATS.md decision 4).
		w.Set("tokenizer.ggml.pre", "llama-bpe")
		w.Set(a+"hidden_activation", src.Activation)
	}

	total := int64(1 << 16)
	for _, s := range v.tokens {
		total += int64(len(s)) + 16
	}
	for _, s := range v.merges {
		total += int64(len(s)) + 8
	}
	for _, t := range src.Tensors() {
		var size uint64
		switch t.Kind {
		case KindVector:
			size = uint64(4 * t.Cols)
			data := func(out io.Writer) error {
				x, err := src.Vector(t.Name, t.Cols)
				if err != nil {
					return err
				}
				_, err = out.Write(f32Bytes(x))
				return err
			}
			w.AddTensorFunc(t.Name, gguf.F32, []uint64{uint64(t.Cols)}, size, data)
		case KindFloat:
			size = uint64(2 * t.Rows * t.Cols)
			data := func(out io.Writer) error {
				ft, err := src.Float(t.Name, t.Rows, t.Cols)
				if err != nil {
					return err
				}
				return writeF16(out, t.Name, ft)
			}
			w.AddTensorFunc(t.Name, gguf.F16, []uint64{uint64(t.Cols), uint64(t.Rows)}, size, data)
		case KindTernary:
			size = ternarySize(typ, t.Rows, t.Cols)
			// TQ blocks hold an f16 scale. When γ is not exact in f16, the
			// block scale is γ rounded and an F32 tensor <proj>.scale, which
			// llama.cpp and this library multiply in, holds the correction
			// γ / f16(γ); it is decided before the weights are decoded.
			needScale := false
			if typ != gguf.I2_S {
				hint, known := src.b.scale(t.Name)
				needScale = !(known && f16Exact(hint))
			}
			corr := float32(1)
			data := func(out io.Writer) error {
				m, err := src.Ternary(t.Name, t.Rows, t.Cols)
				if err != nil {
					return err
				}
				if typ != gguf.I2_S && m.BlockScales == nil && !f16Exact(m.Scale) {
					if !needScale {
						return fmt.Errorf("bitnet: tensor %s: scale %v is not exact in F16", t.Name, m.Scale)
					}
					d := kernels.F16ToF32(f32ToF16(m.Scale))
					if d == 0 || math.IsInf(float64(d), 0) {
						d = 1
					}
					corr = m.Scale / d
					m.Scale = d
				}
				b, err := encodeTernary(typ, t.Name, m)
				if err != nil {
					return err
				}
				src.b.release(t.Name)
				return writeChunks(out, b)
			}
			w.AddTensorFunc(t.Name, typ, []uint64{uint64(t.Cols), uint64(t.Rows)}, size, data)
			if needScale {
				sname := strings.TrimSuffix(t.Name, "weight") + "scale"
				w.AddTensorFunc(sname, gguf.F32, []uint64{1}, 4, func(out io.Writer) error {
					_, err := out.Write(f32Bytes([]float32{corr}))
					return err
				})
				total += 64
			}
		}
		total += int64(size+31)/32*32 + int64(len(t.Name)) + 48
	}
	// Reading the scales above mapped pages around them (the kernel maps
	// whole folios on a fault): give them back before the long part.
	src.b.release("")
	return w, total, nil
}

// f16Exact reports whether x is a finite, non-zero F16 value.
func f16Exact(x float32) bool {
	h := f32ToF16(x)
	return h&0x7c00 != 0x7c00 && h&0x7fff != 0 && kernels.F16ToF32(h) == x
}

// fitVocab makes the vocabulary exactly n tokens long: empty entries and
// missing ones at the end become unused "[PADi]" tokens, as Hugging Face's
// and llama.cpp's converters write them.
func fitVocab(v *vocab, n int) error {
	if len(v.tokens) > n {
		return invalid("the tokenizer has %d tokens, more than the %d rows of the embedding", len(v.tokens), n)
	}
	for len(v.tokens) < n {
		v.tokens = append(v.tokens, "")
		v.types = append(v.types, 5)
		if v.scores != nil {
			v.scores = append(v.scores, 0)
		}
	}
	for i, s := range v.tokens {
		if s == "" {
			v.tokens[i] = fmt.Sprintf("[PAD%d]", i)
			v.types[i] = 5
		}
	}
	return nil
}

// progressWriter counts the bytes written and reports them.
type progressWriter struct {
	w     io.Writer
	n     int64
	total int64
	fn    func(written, total int64)
}

// Write writes b to the output and reports the new total.
func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if p.fn != nil {
		if p.n >= p.total {
			p.total = p.n + 1 // the estimate was short: never report done early
		}
		p.fn(p.n, p.total)
	}
	return n, err
}
