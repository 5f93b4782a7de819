package convert

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"

	"github.com/org/bitnet/internal/gguf"
	"github.com/org/bitnet/internal/kernels"
	"github.com/org/bitnet/internal/ternary"
)

// OpenGGUF opens a BitNet GGUF file: architecture "bitnet-b1.58",
// "bitnet-25" or "bitnet", ternary projections in I2_S, TQ1_0, TQ2_0 or a
// float type, as the library's loader reads them.
func OpenGGUF(path string) (*Source, error) {
	name := filepath.Base(path)
	f, err := gguf.Open(path)
	if err != nil {
		switch {
		case errors.Is(err, gguf.ErrUnsupported):
			return nil, wrap(ErrUnsupported, err, "%s", path)
		case errors.Is(err, gguf.ErrFormat):
			return nil, wrap(ErrInvalid, err, "%s", path)
		}
		return nil, fmt.Errorf("bitnet: %w", err)
	}
	s, err := ggufModel(path, name, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// GGUFHeader reads the hyper-parameters of a BitNet GGUF file, and no
// tensor: Arch, Name, Activation (FORMATS.md decision 4), Hidden, Layers,
// Heads, KVHeads, HeadDim, FFN, Context, RopeDim, RopeTheta, RMSNormEps.
// Every integer is bounded before anything is sized from it. name is the
// file name errors give.
func GGUFHeader(name string, f *gguf.File) (*Source, error) {
	arch, ok := f.GetString("general.architecture")
	if !ok {
		return nil, invalid("%s: key general.architecture is missing or not a string", name)
	}
	s := &Source{Format: "gguf", Arch: arch, Name: name, Activation: "relu2"}
	switch arch {
	case "bitnet-b1.58", "bitnet-25":
	case "bitnet":
		s.Activation = "silu"
		if v, ok := f.Lookup(arch + ".hidden_activation"); ok {
			a, _ := v.Str()
			if a != "relu2" && a != "silu" {
				return nil, unsupported("%s: %s.hidden_activation = %v (want \"relu2\" or \"silu\")", name, arch, v)
			}
			s.Activation = a
		} else if m, _ := f.GetString("tokenizer.ggml.model"); m == "gpt2" {
			if v, ok := f.Lookup("tokenizer.ggml.tokens"); ok && v.Count == 128256 {
				s.Activation = "relu2" // only 2B4T has the Llama 3 vocabulary (decision 4)
			}
		}
	default:
		return nil, unsupported("%s: architecture %q (want bitnet-b1.58, bitnet-25 or bitnet)", name, arch)
	}
	if n, ok := f.GetString("general.name"); ok && n != "" {
		s.Name = n
	}
	getInt := func(key string, def, lo, hi int) (int, error) {
		full := arch + "." + key
		v, ok := f.Lookup(full)
		if !ok {
			if def < 0 {
				return 0, invalid("%s: key %s is missing", name, full)
			}
			return def, nil
		}
		u, ok := v.Uint()
		if !ok || u < uint64(lo) || u > uint64(hi) {
			return 0, invalid("%s: key %s = %v, want an integer in [%d, %d]", name, full, v, lo, hi)
		}
		return int(u), nil
	}
	getFloat := func(key string, def float64) (float64, error) {
		full := arch + "." + key
		v, ok := f.Lookup(full)
		if !ok {
			return def, nil
		}
		x, ok := v.Float()
		if !ok || math.IsNaN(x) || math.IsInf(x, 0) || x <= 0 {
			return 0, invalid("%s: key %s = %v, want a positive number", name, full, v)
		}
		return x, nil
	}
	var err error
	for _, p := range []struct {
		dst         *int
		key         string
		def, lo, hi int
	}{
		{&s.Hidden, "embedding_length", -1, 1, 1 << 16},
		{&s.Layers, "block_count", -1, 1, 1 << 10},
		{&s.Heads, "attention.head_count", -1, 1, 1 << 10},
		{&s.FFN, "feed_forward_length", -1, 1, 1 << 18},
		{&s.Context, "context_length", 2048, 1, 1 << 24},
	} {
		if *p.dst, err = getInt(p.key, p.def, p.lo, p.hi); err != nil {
			return nil, err
		}
	}
	if s.KVHeads, err = getInt("attention.head_count_kv", s.Heads, 1, s.Heads); err != nil {
		return nil, err
	}
	if s.Hidden%s.Heads != 0 {
		return nil, invalid("%s: %s.attention.head_count = %d does not divide embedding_length %d", name, arch, s.Heads, s.Hidden)
	}
	if s.Heads%s.KVHeads != 0 {
		return nil, invalid("%s: %s.attention.head_count_kv = %d does not divide head_count %d", name, arch, s.KVHeads, s.Heads)
	}
	if s.HeadDim, err = getInt("attention.key_length", s.Hidden/s.Heads, 2, 1<<12); err != nil {
		return nil, err
	}
	if s.RopeDim, err = getInt("rope.dimension_count", s.HeadDim, 2, s.HeadDim); err != nil {
		return nil, err
	}
	if s.RopeDim%2 != 0 {
		return nil, invalid("%s: %s.rope.dimension_count = %d is odd", name, arch, s.RopeDim)
	}
	if s.RopeTheta, err = getFloat("rope.freq_base", 10000); err != nil {
		return nil, err
	}
	eps, err := getFloat("attention.layer_norm_rms_epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	s.RMSNormEps = float32(eps)
	return s, nil
}

func ggufModel(path, name string, f *gguf.File) (*Source, error) {
	s, err := GGUFHeader(name, f)
	if err != nil {
		return nil, err
	}
	s.Path = path
	arch := s.Arch
	if _, ok := f.Tensor("rope_freqs.weight"); ok {
		return nil, unsupported("%s: tensor rope_freqs.weight (RoPE frequency factors) cannot be converted", name)
	}

	g := &ggufSource{f: f, file: name}
	s.b = g
	t, ok := f.Tensor("token_embd.weight")
	if !ok {
		return nil, invalid("%s: tensor token_embd.weight is missing", name)
	}
	if len(t.Dims) != 2 || t.Dims[0] != uint64(s.Hidden) || t.Dims[1] == 0 || t.Dims[1] > 1<<24 {
		return nil, invalid("%s: tensor token_embd.weight has shape %v, want [%d vocab]", name, t.Dims, s.Hidden)
	}
	s.Vocab = int(t.Dims[1])
	s.EmbeddingType = t.Type.String()
	if v, ok := f.GetUint(arch + ".vocab_size"); ok && v != uint64(s.Vocab) {
		return nil, invalid("%s: %s.vocab_size = %d but token_embd.weight has %d rows", name, arch, v, s.Vocab)
	}
	_, untied := f.Tensor("output.weight")
	s.Tied = !untied
	if err := s.checkAll(); err != nil {
		return nil, err
	}
	if q, ok := f.Tensor("blk.0.attn_q.weight"); ok {
		s.WeightType = q.Type.String()
	}
	return s, nil
}

// ggufSource reads tensors of a GGUF file.
type ggufSource struct {
	f    *gguf.File
	file string
}

func (g *ggufSource) close() error { return g.f.Close() }

func (g *ggufSource) has(name string) bool { _, ok := g.f.Tensor(name); return ok }

func (g *ggufSource) tensorFor(spec TensorSpec) (*gguf.TensorInfo, error) {
	t, ok := g.f.Tensor(spec.Name)
	if !ok {
		return nil, invalid("%s: tensor %s is missing", g.file, spec.Name)
	}
	dims := []uint64{uint64(spec.Cols), uint64(spec.Rows)}
	if spec.Kind == KindVector {
		dims = dims[:1]
	}
	same := len(t.Dims) == len(dims)
	for i := 0; same && i < len(dims); i++ {
		same = t.Dims[i] == dims[i]
	}
	if !same {
		return nil, invalid("%s: tensor %s has shape %v, want %v", g.file, spec.Name, t.Dims, dims)
	}
	switch t.Type {
	case gguf.F32, gguf.F16, gguf.BF16:
		return t, nil
	case gguf.I2_S, gguf.TQ1_0, gguf.TQ2_0:
		if spec.Kind == KindTernary {
			return t, nil
		}
	}
	return nil, unsupported("%s: tensor %s has type %v", g.file, spec.Name, t.Type)
}

func (g *ggufSource) check(spec TensorSpec) error {
	_, err := g.tensorFor(spec)
	return err
}

func (g *ggufSource) vector(name string, n int) ([]float32, error) {
	t, err := g.tensorFor(TensorSpec{name, KindVector, 1, n})
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	toFloat32(out, t.Type, g.f.TensorData(t))
	return out, nil
}

func (g *ggufSource) float(name string, rows, cols int) (FloatTensor, error) {
	t, err := g.tensorFor(TensorSpec{name, KindFloat, rows, cols})
	if err != nil {
		return FloatTensor{}, err
	}
	return FloatTensor{Type: t.Type, Rows: rows, Cols: cols, Data: g.f.TensorData(t)}, nil
}

func (g *ggufSource) ternary(name string, rows, cols int) (*ternary.Matrix, error) {
	t, err := g.tensorFor(TensorSpec{name, KindTernary, rows, cols})
	if err != nil {
		return nil, err
	}
	m, err := ternary.FromGGUF(t.Type, g.f.TensorData(t), rows, cols)
	if err != nil {
		return nil, invalid("%s: tensor %s: %v", g.file, name, err)
	}
	// An optional per-projection output scale (llama.cpp's bitnet files)
	// is folded into the weight scale.
	sname := name[:len(name)-len("weight")] + "scale"
	if st, ok := g.f.Tensor(sname); ok {
		if st.Elements() != 1 || (st.Type != gguf.F32 && st.Type != gguf.F16 && st.Type != gguf.BF16) {
			return nil, invalid("%s: tensor %s has %v %v, want one float", g.file, sname, st.Type, st.Dims)
		}
		var sc [1]float32
		toFloat32(sc[:], st.Type, g.f.TensorData(st))
		m.Scale *= sc[0]
		for i := range m.BlockScales {
			m.BlockScales[i] *= sc[0]
		}
	}
	return m, nil
}

func (g *ggufSource) release(name string) {
	if name == "" {
		for i := range g.f.Tensors {
			release(g.f.TensorData(&g.f.Tensors[i]))
		}
		return
	}
	if t, ok := g.f.Tensor(name); ok {
		release(g.f.TensorData(t))
	}
}

func (g *ggufSource) scale(name string) (float32, bool) {
	t, ok := g.f.Tensor(name)
	if !ok {
		return 0, false
	}
	var s float32
	data := g.f.TensorData(t)
	switch t.Type {
	case gguf.I2_S:
		n := int(t.Elements())
		if len(data) < n/4+4 {
			return 0, false
		}
		s = math.Float32frombits(binary.LittleEndian.Uint32(data[n/4:]))
		releaseAround(data[n/4 : n/4+4])
	case gguf.TQ1_0, gguf.TQ2_0:
		// The block scales are f16 already: report the first, exact in
		// f16; blocks that differ are written as they are.
		bb := 54
		if t.Type == gguf.TQ2_0 {
			bb = 66
		}
		if len(data) < bb {
			return 0, false
		}
		s = kernels.F16ToF32(binary.LittleEndian.Uint16(data[bb-2:]))
		releaseAround(data[bb-2 : bb])
	default:
		return 0, false
	}
	if st, ok := g.f.Tensor(name[:len(name)-len("weight")] + "scale"); ok {
		if st.Elements() != 1 {
			return 0, false
		}
		var sc [1]float32
		toFloat32(sc[:], st.Type, g.f.TensorData(st))
		releaseAround(g.f.TensorData(st))
		s *= sc[0]
	}
	return s, true
}

// toFloat32 converts F32, F16 or BF16 data to float32.
func toFloat32(dst []float32, typ gguf.TensorType, data []byte) {
	le := binary.LittleEndian
	switch typ {
	case gguf.F32:
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(data[4*i:]))
		}
	case gguf.F16:
		for i := range dst {
			dst[i] = kernels.F16ToF32(le.Uint16(data[2*i:]))
		}
	case gguf.BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(le.Uint16(data[2*i:])) << 16)
		}
	}
}

// vocab reads the tokenizer.ggml.* keys.
func (g *ggufSource) vocab() (*vocab, error) {
	f := g.f
	bad := func(key, what string) error { return invalid("%s: key %s %s", g.file, key, what) }
	v := &vocab{bos: -1, eos: -1, pad: -1, addBOS: true}
	var ok bool
	if v.model, ok = f.GetString("tokenizer.ggml.model"); !ok {
		return nil, bad("tokenizer.ggml.model", "is missing or not a string")
	}
	if v.model != "gpt2" {
		return nil, unsupported("%s: tokenizer model %q; only \"gpt2\" (byte-level BPE) is supported", g.file, v.model)
	}
	if f.Has("tokenizer.ggml.pre") {
		v.pre, _ = f.GetString("tokenizer.ggml.pre")
		if v.pre != "llama-bpe" && v.pre != "llama3" {
			return nil, unsupported("%s: pre-tokenizer %q; only the Llama 3 split is supported", g.file, v.pre)
		}
	}
	if v.tokens, ok = f.GetStrings("tokenizer.ggml.tokens"); !ok {
		return nil, bad("tokenizer.ggml.tokens", "is missing or not an array of strings")
	}
	n := len(v.tokens)
	if f.Has("tokenizer.ggml.merges") {
		if v.merges, ok = f.GetStrings("tokenizer.ggml.merges"); !ok {
			return nil, bad("tokenizer.ggml.merges", "is not an array of strings")
		}
	}
	if f.Has("tokenizer.ggml.scores") {
		s, ok := f.GetFloats("tokenizer.ggml.scores")
		if !ok || len(s) != n {
			return nil, bad("tokenizer.ggml.scores", fmt.Sprintf("is not an array of %d numbers", n))
		}
		v.scores = make([]float32, n)
		for i, x := range s {
			v.scores[i] = float32(x)
		}
	}
	v.types = make([]int32, n)
	if f.Has("tokenizer.ggml.token_type") {
		t, ok := f.GetInts("tokenizer.ggml.token_type")
		if !ok || len(t) != n {
			return nil, bad("tokenizer.ggml.token_type", fmt.Sprintf("is not an array of %d integers", n))
		}
		for i, x := range t {
			v.types[i] = int32(x)
		}
	} else {
		for i := range v.types {
			v.types[i] = 1
		}
	}
	id := func(key string, dst *int) error {
		if !f.Has(key) {
			return nil
		}
		x, ok := f.GetUint(key)
		if !ok || x >= uint64(n) {
			return bad(key, fmt.Sprintf("is not a token id below %d", n))
		}
		*dst = int(x)
		return nil
	}
	for _, k := range []struct {
		key string
		dst *int
	}{
		{"tokenizer.ggml.bos_token_id", &v.bos},
		{"tokenizer.ggml.eos_token_id", &v.eos},
		{"tokenizer.ggml.padding_token_id", &v.pad},
	} {
		if err := id(k.key, k.dst); err != nil {
			return nil, err
		}
	}
	if f.Has("tokenizer.ggml.add_bos_token") {
		if v.addBOS, ok = f.GetBool("tokenizer.ggml.add_bos_token"); !ok {
			return nil, bad("tokenizer.ggml.add_bos_token", "is not a bool")
		}
	}
	v.chatTemplate, _ = f.GetString("tokenizer.chat_template")
	return v, nil
}
