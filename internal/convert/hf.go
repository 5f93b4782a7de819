package convert

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/org/bitnet/internal/bpe"
	"github.com/org/bitnet/internal/gguf"
	"github.com/org/bitnet/internal/hfconfig"
	"github.com/org/bitnet/internal/safetensors"
	"github.com/org/bitnet/internal/ternary"
)

// TokenizerFile is the Hugging Face tokenizer of a checkpoint directory.
const TokenizerFile = "tokenizer.json"

// OpenHF opens a Hugging Face BitNet checkpoint directory: config.json,
// model.safetensors (or shards listed by model.safetensors.index.json) and
// tokenizer.json (read when converting).
//
// Ternary projections are either packed (U8 [out/4, in], four weights per
// byte along the output rows, FORMATS.md §3e) with a weight_scale whose
// meaning follows quantization_config.linear_class (decision 6), or float
// weights ternarized by absmean (decision 2), as quantization_mode
// "online" checkpoints store them. Every tensor is checked against
// config.json before OpenHF returns.
func OpenHF(dir string) (*Source, error) {
	cfgPath := filepath.Join(dir, hfconfig.FileName)
	cfg, err := hfconfig.Load(cfgPath)
	if err != nil {
		return nil, hfConfigError(cfgPath, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, hfConfigError(cfgPath, err)
	}
	if cfg.AttentionBias || cfg.MLPBias {
		return nil, unsupported("%s: attention_bias or mlp_bias: BitNet b1.58 has no biases", cfgPath)
	}
	act := ""
	switch cfg.HiddenAct {
	case "relu2":
		act = "relu2"
	case "silu", "swish":
		act = "silu"
	default:
		return nil, unsupported("%s: hidden_act %q (want \"relu2\" or \"silu\")", cfgPath, cfg.HiddenAct)
	}
	ck, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, stError(err)
	}
	h := &hfSource{dir: dir, ck: ck, cfg: cfg, divide: cfg.LinearClass() == hfconfig.LinearBitLinear}
	name := filepath.Base(dir)
	if abs, err := filepath.Abs(dir); err == nil {
		name = filepath.Base(abs)
	}
	s := &Source{
		Path:       dir,
		Format:     "safetensors",
		Arch:       "bitnet-b1.58",
		Name:       name,
		Hidden:     cfg.HiddenSize,
		Layers:     cfg.NumHiddenLayers,
		Heads:      cfg.NumAttentionHeads,
		KVHeads:    cfg.NumKeyValueHeads,
		HeadDim:    cfg.HeadDimension(),
		FFN:        cfg.IntermediateSize,
		Vocab:      cfg.VocabSize,
		Context:    cfg.MaxPositionEmbeddings,
		RopeDim:    cfg.HeadDimension(),
		RMSNormEps: float32(cfg.RMSNormEps),
		RopeTheta:  cfg.RopeTheta,
		Activation: act,
		Tied:       !ck.Has(hfName("output.weight")),
		b:          h,
	}
	if act == "silu" {
		s.Arch = "bitnet"
	}
	if s.Tied && cfg.TieWordEmbeddings != nil && !*cfg.TieWordEmbeddings {
		ck.Close()
		return nil, invalid("%s: tie_word_embeddings is false but tensor lm_head.weight is missing", dir)
	}
	if err := s.checkAll(); err != nil {
		ck.Close()
		return nil, err
	}
	if t, err := ck.Lookup(hfName("blk.0.attn_q.weight")); err == nil {
		s.WeightType = string(t.DType)
		if t.DType == safetensors.U8 || t.DType == safetensors.I8 {
			s.WeightType = "U8 packed"
		}
	}
	if t, err := ck.Lookup(hfName("token_embd.weight")); err == nil {
		s.EmbeddingType = string(t.DType)
	}
	return s, nil
}

// hfConfigError turns an hfconfig error into an Error of the same kind.
func hfConfigError(path string, err error) error {
	switch {
	case errors.Is(err, hfconfig.ErrUnsupported) && !errors.Is(err, hfconfig.ErrInvalid):
		return &Error{Kind: ErrUnsupported, Err: err}
	case errors.Is(err, fs.ErrNotExist):
		return wrap(ErrInvalid, fs.ErrNotExist, "%s is missing", path)
	}
	return &Error{Kind: ErrInvalid, Err: err}
}

// stError turns a safetensors error, which names the file and tensor,
// into an Error of the same kind.
func stError(err error) error {
	if errors.Is(err, safetensors.ErrUnsupported) {
		return &Error{Kind: ErrUnsupported, Err: err}
	}
	return &Error{Kind: ErrInvalid, Err: err}
}

// hfLayerNames maps the per-block GGUF tensor names to Hugging Face's.
var hfLayerNames = map[string]string{
	"attn_norm.weight":     "input_layernorm.weight",
	"attn_q.weight":        "self_attn.q_proj.weight",
	"attn_k.weight":        "self_attn.k_proj.weight",
	"attn_v.weight":        "self_attn.v_proj.weight",
	"attn_sub_norm.weight": "self_attn.attn_sub_norm.weight",
	"attn_output.weight":   "self_attn.o_proj.weight",
	"ffn_norm.weight":      "post_attention_layernorm.weight",
	"ffn_gate.weight":      "mlp.gate_proj.weight",
	"ffn_up.weight":        "mlp.up_proj.weight",
	"ffn_sub_norm.weight":  "mlp.ffn_sub_norm.weight",
	"ffn_down.weight":      "mlp.down_proj.weight",
}

// hfName returns the Hugging Face name of a GGUF tensor name (FORMATS.md
// §1.2), or the name itself when it has no counterpart.
func hfName(name string) string {
	switch name {
	case "token_embd.weight":
		return "model.embed_tokens.weight"
	case "output_norm.weight":
		return "model.norm.weight"
	case "output.weight":
		return "lm_head.weight"
	}
	if rest, ok := strings.CutPrefix(name, "blk."); ok {
		if num, tail, ok := strings.Cut(rest, "."); ok {
			if hf, ok := hfLayerNames[tail]; ok {
				return "model.layers." + num + "." + hf
			}
		}
	}
	return name
}

// hfSource reads tensors of a Hugging Face checkpoint.
type hfSource struct {
	dir    string
	ck     *safetensors.Checkpoint
	cfg    *hfconfig.Config
	divide bool // linear_class bitlinear: weight_scale = 1/γ
}

func (h *hfSource) close() error { return h.ck.Close() }

func (h *hfSource) has(name string) bool { return h.ck.Has(hfName(name)) }

// lookup returns a tensor by Hugging Face name, naming its shard in errors.
func (h *hfSource) lookup(name string) (safetensors.Tensor, error) {
	t, err := h.ck.Lookup(name)
	if err != nil {
		if errors.Is(err, safetensors.ErrNotFound) {
			return t, invalid("%s: tensor %s is missing", h.dir, name)
		}
		return t, stError(err)
	}
	return t, nil
}

// where names a tensor's file for messages.
func (h *hfSource) where(name string) string {
	if shard, ok := h.ck.Shard(name); ok {
		return filepath.Join(h.dir, shard)
	}
	return h.dir
}

func isFloat(d safetensors.DType) bool {
	return d == safetensors.BF16 || d == safetensors.F16 || d == safetensors.F32
}

func ggufType(d safetensors.DType) gguf.TensorType {
	switch d {
	case safetensors.BF16:
		return gguf.BF16
	case safetensors.F16:
		return gguf.F16
	}
	return gguf.F32
}

func sameShape(shape []int, want ...int) bool {
	if len(shape) != len(want) {
		return false
	}
	for i := range want {
		if shape[i] != want[i] {
			return false
		}
	}
	return true
}

// tensorFor looks up a tensor and checks its dtype and shape for the kind.
// For packed ternary weights it also returns the weight_scale tensor.
func (h *hfSource) tensorFor(spec TensorSpec) (t, scale safetensors.Tensor, err error) {
	name := hfName(spec.Name)
	if t, err = h.lookup(name); err != nil {
		return
	}
	bad := func(want string) error {
		return invalid("%s: tensor %s has %s %v; config.json wants %s", h.where(name), name, t.DType, t.Shape, want)
	}
	switch spec.Kind {
	case KindVector:
		if !isFloat(t.DType) || !sameShape(t.Shape, spec.Cols) {
			err = bad(fmt.Sprintf("a float vector [%d]", spec.Cols))
		}
	case KindFloat:
		if !isFloat(t.DType) || !sameShape(t.Shape, spec.Rows, spec.Cols) {
			err = bad(fmt.Sprintf("a float matrix [%d %d]", spec.Rows, spec.Cols))
		}
	case KindTernary:
		switch {
		case t.DType == safetensors.U8 || t.DType == safetensors.I8:
			if spec.Rows%4 != 0 || !sameShape(t.Shape, spec.Rows/4, spec.Cols) {
				return t, scale, bad(fmt.Sprintf("packed U8 [%d %d] (%d rows / 4, %d columns)", spec.Rows/4, spec.Cols, spec.Rows, spec.Cols))
			}
			sname := strings.TrimSuffix(name, "weight") + "weight_scale"
			if scale, err = h.lookup(sname); err != nil {
				return
			}
			if !isFloat(scale.DType) || scale.NumElements() != 1 {
				err = invalid("%s: tensor %s has %s %v; want one float", h.where(sname), sname, scale.DType, scale.Shape)
			}
		case isFloat(t.DType):
			if !sameShape(t.Shape, spec.Rows, spec.Cols) {
				err = bad(fmt.Sprintf("a float matrix [%d %d]", spec.Rows, spec.Cols))
			}
		default:
			err = unsupported("%s: tensor %s has dtype %s; ternary weights must be U8 (packed), BF16, F16 or F32", h.where(name), name, t.DType)
		}
	}
	return
}

func (h *hfSource) check(spec TensorSpec) error {
	_, _, err := h.tensorFor(spec)
	return err
}

func (h *hfSource) vector(name string, n int) ([]float32, error) {
	t, _, err := h.tensorFor(TensorSpec{name, KindVector, 1, n})
	if err != nil {
		return nil, err
	}
	return floats(t)
}

func floats(t safetensors.Tensor) ([]float32, error) {
	v, err := safetensors.Float32s(t)
	if err != nil {
		return nil, stError(err)
	}
	return v, nil
}

func (h *hfSource) float(name string, rows, cols int) (FloatTensor, error) {
	t, _, err := h.tensorFor(TensorSpec{name, KindFloat, rows, cols})
	if err != nil {
		return FloatTensor{}, err
	}
	return FloatTensor{Type: ggufType(t.DType), Rows: rows, Cols: cols, Data: t.Data}, nil
}

func (h *hfSource) ternary(name string, rows, cols int) (*ternary.Matrix, error) {
	t, st, err := h.tensorFor(TensorSpec{name, KindTernary, rows, cols})
	if err != nil {
		return nil, err
	}
	if isFloat(t.DType) {
		var m *ternary.Matrix
		if t.DType == safetensors.BF16 {
			m, err = ternarizeBF16(t.Data, rows, cols)
		} else {
			var w []float32
			if w, err = floats(t); err != nil {
				return nil, err
			}
			m, err = ternary.FromFloat(w, rows, cols)
		}
		if err != nil {
			return nil, invalid("%s: tensor %s: %v", h.where(t.Name), t.Name, err)
		}
		return m, nil
	}
	sv, err := floats(st)
	if err != nil {
		return nil, err
	}
	ws := sv[0]
	if !(ws > 0) || math.IsInf(float64(ws), 0) {
		return nil, invalid("%s: tensor %s is %v; want a positive number", h.where(st.Name), st.Name, ws)
	}
	gamma := ws
	if h.divide {
		gamma = 1 / ws
	}
	m, err := UnpackHF(t.Data, rows, cols)
	if err != nil {
		return nil, invalid("%s: tensor %s: %v", h.where(t.Name), t.Name, err)
	}
	m.Scale = gamma
	return m, nil
}

func (h *hfSource) release(name string) {
	if name == "" {
		for _, ti := range h.ck.Tensors() {
			if t, err := h.ck.Lookup(ti.Name); err == nil {
				release(t.Data)
			}
		}
		return
	}
	if t, err := h.ck.Lookup(hfName(name)); err == nil {
		release(t.Data)
	}
}

func (h *hfSource) scale(name string) (float32, bool) {
	// Packed weights have a weight_scale tensor; master weights must be
	// decoded to know γ.
	hn := hfName(name)
	t, err := h.ck.Lookup(hn)
	if err != nil || isFloat(t.DType) {
		return 0, false
	}
	st, err := h.ck.Lookup(strings.TrimSuffix(hn, "weight") + "weight_scale")
	if err != nil || !isFloat(st.DType) || st.NumElements() != 1 {
		return 0, false
	}
	v, err := floats(st)
	releaseAround(st.Data)
	if err != nil {
		return 0, false
	}
	if h.divide {
		return 1 / v[0], true
	}
	return v[0], true
}

// UnpackHF decodes Hugging Face packed ternary weights (FORMATS.md §3e):
// packed is [rows/4][cols] bytes, and weight (i·rows/4 + r, c) has code
// (packed[r][c] >> 2i) & 3, weight = code − 1. The matrix's Scale is left 0.
// Code 3 is an error.
func UnpackHF(packed []byte, rows, cols int) (*ternary.Matrix, error) {
	if rows <= 0 || cols <= 0 || rows%4 != 0 || len(packed) != rows/4*cols {
		return nil, fmt.Errorf("%d packed bytes for %d×%d weights", len(packed), rows, cols)
	}
	if ternary.HasCode3(packed) {
		return nil, fmt.Errorf("packed weights hold code 3, which is not a ternary value")
	}
	q := rows / 4
	kp := (cols + ternary.QK - 1) / ternary.QK * ternary.QK
	rb := kp / 4
	m := &ternary.Matrix{Rows: rows, K: cols, KP: kp, Data: make([]byte, rows*rb)}
	full := cols / ternary.QK * ternary.QK
	for r := 0; r < rows; r++ {
		src := packed[(r%q)*cols : (r%q+1)*cols]
		sh := uint(2 * (r / q))
		dst := m.Data[r*rb : (r+1)*rb]
		// Eight bytes at a time: shifting a little-endian word moves no
		// bits of one byte into the two low bits of another (sh ≤ 6), and
		// the codes put back together stay within their byte.
		const low2 = 0x0303030303030303
		for b := 0; b < full; b += ternary.QK {
			s := src[b : b+ternary.QK : b+ternary.QK]
			d := dst[b/4 : b/4+32 : b/4+32]
			for g := 0; g < 32; g += 8 {
				c0 := binary.LittleEndian.Uint64(s[g:]) >> sh & low2
				c1 := binary.LittleEndian.Uint64(s[g+32:]) >> sh & low2
				c2 := binary.LittleEndian.Uint64(s[g+64:]) >> sh & low2
				c3 := binary.LittleEndian.Uint64(s[g+96:]) >> sh & low2
				binary.LittleEndian.PutUint64(d[g:], c0<<6|c1<<4|c2<<2|c3)
			}
		}
		if full < cols { // a partial last block, padded with code 1 (weight 0)
			d := dst[full/4:]
			for i := range d {
				d[i] = 0x55
			}
			for j := full; j < cols; j++ {
				p := j - full
				bs := 6 - 2*uint(p/32)
				d[p%32] = d[p%32]&^(3<<bs) | (src[j]>>sh&3)<<bs
			}
		}
	}
	return m, nil
}

// vocab reads tokenizer.json, and tokenizer_config.json when present.
func (h *hfSource) vocab() (*vocab, error) {
	path := filepath.Join(h.dir, TokenizerFile)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, wrap(ErrInvalid, fs.ErrNotExist, "%s is missing", path)
		}
		return nil, fmt.Errorf("bitnet: %w", err)
	}
	cfg, err := bpe.ParseJSON(data)
	if err != nil {
		kind := ErrInvalid
		if errors.Is(err, bpe.ErrUnsupported) {
			kind = ErrUnsupported
		}
		return nil, wrap(kind, err, "%s", path)
	}
	v := &vocab{model: "gpt2", pre: "llama-bpe", tokens: cfg.Tokens, bos: -1, eos: -1, pad: -1, addBOS: true}
	v.types = make([]int32, len(cfg.Tokens))
	for i, t := range cfg.Types {
		v.types[i] = int32(t)
	}
	v.merges = cfg.Merges
	for _, p := range cfg.MergePairs {
		v.merges = append(v.merges, p[0]+" "+p[1])
	}
	find := func(text string) int {
		for i, t := range v.tokens {
			if t == text {
				return i
			}
		}
		return -1
	}

	// tokenizer_config.json: chat template, add_bos_token, BOS/EOS texts.
	var tc struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
		AddBOS       *bool           `json:"add_bos_token"`
		BOS          bpe.TokenName   `json:"bos_token"`
		EOS          bpe.TokenName   `json:"eos_token"`
		Pad          bpe.TokenName   `json:"pad_token"`
	}
	tcPath := filepath.Join(h.dir, "tokenizer_config.json")
	if data, err := os.ReadFile(tcPath); err == nil {
		if err := json.Unmarshal(data, &tc); err != nil {
			return nil, wrap(ErrInvalid, err, "%s", tcPath)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("bitnet: %w", err)
	}
	if len(tc.ChatTemplate) > 0 {
		// A string, or a list of {"name", "template"}: take "default".
		var s string
		var named []struct{ Name, Template string }
		if json.Unmarshal(tc.ChatTemplate, &s) == nil {
			v.chatTemplate = s
		} else if json.Unmarshal(tc.ChatTemplate, &named) == nil {
			for _, n := range named {
				if n.Name == "default" {
					v.chatTemplate = n.Template
				}
			}
		}
	}
	if tc.AddBOS != nil {
		v.addBOS = *tc.AddBOS
	}
	if tc.BOS != "" {
		v.bos = find(string(tc.BOS))
	}
	if tc.EOS != "" {
		v.eos = find(string(tc.EOS))
	}
	if tc.Pad != "" {
		v.pad = find(string(tc.Pad))
	}
	// config.json's ids come first, as in transformers.
	if c := h.cfg; c.BOSTokenID != nil && *c.BOSTokenID < len(v.tokens) {
		v.bos = *c.BOSTokenID
	}
	if c := h.cfg; len(c.EOSTokenIDs) > 0 && c.EOSTokenIDs[0] < len(v.tokens) {
		v.eos = c.EOSTokenIDs[0]
	}
	if v.bos < 0 {
		v.bos = find("<|begin_of_text|>")
	}
	if v.eos < 0 {
		v.eos = find("<|end_of_text|>")
	}
	if v.pad < 0 {
		v.pad = v.eos // as in the official file
	}
	return v, nil
}
