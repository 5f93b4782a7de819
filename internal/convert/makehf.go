package convert

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/org/bitnet/internal/hfconfig"
	"github.com/org/bitnet/internal/modelgen"
	"github.com/org/bitnet/internal/safetensors"
)

// HFSpec describes a Hugging Face BitNet checkpoint with random weights,
// for tests and for measuring conversions (MakeHF).
type HFSpec struct {
	Hidden, Layers, Heads, KVHeads, FFN, Vocab, Context int
	RopeTheta                                           float64
	// LinearClass is quantization_config.linear_class: "autobitlinear"
	// (weight_scale = γ, the default) or "bitlinear" (weight_scale = 1/γ).
	LinearClass string
	// Master writes bf16 master weights (quantization_mode "online")
	// instead of packed ternary weights.
	Master bool
	Seed   uint64
}

// HF2B4T is the shape of microsoft/bitnet-b1.58-2B-4T (packed weights).
var HF2B4T = HFSpec{Hidden: 2560, Layers: 30, Heads: 20, KVHeads: 5, FFN: 6912, Vocab: 128256,
	Context: 4096, RopeTheta: 500000, LinearClass: hfconfig.LinearAutoBitLinear, Seed: 1}

// MakeHF writes a checkpoint directory for spec: config.json,
// model.safetensors (bf16 embedding and norms; packed U8 projections with
// bf16 weight_scale, or bf16 master weights) and a byte-level tokenizer.json
// with the Llama 3 split. Weights are random; tensor data is streamed.
func MakeHF(dir string, spec HFSpec) error {
	if spec.LinearClass == "" {
		spec.LinearClass = hfconfig.LinearAutoBitLinear
	}
	if spec.Heads <= 0 || spec.KVHeads <= 0 || spec.Hidden%spec.Heads != 0 || spec.Heads%spec.KVHeads != 0 ||
		spec.FFN%4 != 0 || spec.Vocab < 512 || spec.Layers <= 0 {
		return fmt.Errorf("bitnet: MakeHF: bad shape %+v", spec)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bitnet: %w", err)
	}
	if err := writeHFConfig(filepath.Join(dir, hfconfig.FileName), spec); err != nil {
		return err
	}
	if err := writeHFTokenizer(filepath.Join(dir, TokenizerFile), spec.Vocab); err != nil {
		return err
	}
	return writeHFWeights(filepath.Join(dir, safetensors.SingleFileName), spec)
}

func writeHFConfig(path string, s HFSpec) error {
	mode := hfconfig.ModeOffline
	if s.Master {
		mode = hfconfig.ModeOnline
	}
	cfg := map[string]any{
		"architectures":           []string{"BitNetForCausalLM"},
		"model_type":              "bitnet",
		"hidden_size":             s.Hidden,
		"intermediate_size":       s.FFN,
		"num_hidden_layers":       s.Layers,
		"num_attention_heads":     s.Heads,
		"num_key_value_heads":     s.KVHeads,
		"vocab_size":              s.Vocab,
		"max_position_embeddings": s.Context,
		"rms_norm_eps":            1e-5,
		"rope_theta":              s.RopeTheta,
		"hidden_act":              "relu2",
		"tie_word_embeddings":     true,
		"bos_token_id":            s.Vocab - 256,
		"eos_token_id":            s.Vocab - 255,
		"torch_dtype":             "bfloat16",
		"quantization_config": map[string]any{
			"quant_method":      "bitnet",
			"linear_class":      s.LinearClass,
			"quantization_mode": mode,
		},
	}
	return writeJSON(path, cfg)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("bitnet: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("bitnet: %w", err)
	}
	return nil
}

// writeHFTokenizer writes a tokenizer.json of vocab tokens: the 256 bytes
// in GPT-2 form, filler tokens, then 256 special tokens named as Llama 3's
// (<|begin_of_text|>, <|end_of_text|>, <|reserved_special_token_0|>, ...).
func writeHFTokenizer(path string, vocab int) error {
	v := make(map[string]int, vocab)
	for b := 0; b < 256; b++ {
		v[string(byteRune(byte(b)))] = b
	}
	for i := 256; i < vocab-256; i++ {
		v[fmt.Sprintf("tok%d", i)] = i
	}
	var added []map[string]any
	for i := 0; i < 256; i++ {
		name := fmt.Sprintf("<|reserved_special_token_%d|>", i)
		switch i {
		case 0:
			name = "<|begin_of_text|>"
		case 1:
			name = "<|end_of_text|>"
		case 9:
			name = "<|eot_id|>"
		}
		added = append(added, map[string]any{"id": vocab - 256 + i, "content": name, "single_word": false,
			"lstrip": false, "rstrip": false, "normalized": false, "special": true})
	}
	tok := map[string]any{
		"version":      "1.0",
		"added_tokens": added,
		"normalizer":   nil,
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": llama3Pattern}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
		}},
		"post_processor": map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
			"vocab": v, "merges": []string{}},
	}
	return writeJSON(path, tok)
}

const llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// byteRune is GPT-2's byte-to-unicode map.
func byteRune(b byte) rune {
	printable := func(c byte) bool { return c >= '!' && c <= '~' || c >= 0xA1 && c <= 0xAC || c >= 0xAE }
	if printable(b) {
		return rune(b)
	}
	n := 0
	for c := 0; c < int(b); c++ {
		if !printable(byte(c)) {
			n++
		}
	}
	return rune(256 + n)
}

// hfTensor is one tensor of the generated checkpoint and its data source.
type hfTensor struct {
	name  string
	dtype safetensors.DType
	shape []int
	write func(w io.Writer, rng *rand.Rand) error
}

func writeHFWeights(path string, s HFSpec) error {
	hd := s.Hidden / s.Heads
	q, kv := s.Heads*hd, s.KVHeads*hd
	var ts []hfTensor
	bf16 := func(name string, gen func(*rand.Rand) float32, shape ...int) {
		ts = append(ts, hfTensor{name, safetensors.BF16, shape, func(w io.Writer, rng *rand.Rand) error {
			return writeBF16(w, product(shape), rng, gen)
		}})
	}
	norm := func(name string, n int) {
		bf16(name, func(r *rand.Rand) float32 { return float32(1 + 0.1*r.NormFloat64()) }, n)
	}
	proj := func(name string, rows, cols int) {
		if s.Master {
			bf16(name, func(r *rand.Rand) float32 { return float32(r.NormFloat64()) }, rows, cols)
			return
		}
		ts = append(ts, hfTensor{name, safetensors.U8, []int{rows / 4, cols}, func(w io.Writer, rng *rand.Rand) error {
			return writePacked(w, rows/4*cols, rng)
		}})
		gamma := float32(1 + rng01(name))
		if s.LinearClass == hfconfig.LinearBitLinear {
			gamma = 1 / gamma
		}
		ts = append(ts, hfTensor{name + "_scale", safetensors.BF16, []int{1}, func(w io.Writer, _ *rand.Rand) error {
			_, err := w.Write(binary.LittleEndian.AppendUint16(nil, toBF16(gamma)))
			return err
		}})
	}
	bf16("model.embed_tokens.weight", func(r *rand.Rand) float32 { return float32(0.05 * r.NormFloat64()) }, s.Vocab, s.Hidden)
	for l := 0; l < s.Layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		norm(p+"input_layernorm.weight", s.Hidden)
		proj(p+"self_attn.q_proj.weight", q, s.Hidden)
		proj(p+"self_attn.k_proj.weight", kv, s.Hidden)
		proj(p+"self_attn.v_proj.weight", kv, s.Hidden)
		norm(p+"self_attn.attn_sub_norm.weight", q)
		proj(p+"self_attn.o_proj.weight", s.Hidden, q)
		norm(p+"post_attention_layernorm.weight", s.Hidden)
		proj(p+"mlp.gate_proj.weight", s.FFN, s.Hidden)
		proj(p+"mlp.up_proj.weight", s.FFN, s.Hidden)
		norm(p+"mlp.ffn_sub_norm.weight", s.FFN)
		proj(p+"mlp.down_proj.weight", s.Hidden, s.FFN)
	}
	norm("model.norm.weight", s.Hidden)

	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	off := 0
	for _, t := range ts {
		n := product(t.shape) * t.dtype.Size()
		header[t.name] = map[string]any{"dtype": t.dtype, "shape": t.shape, "data_offsets": []int{off, off + n}}
		off += n
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("bitnet: %w", err)
	}
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bitnet: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	bw.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(hj))))
	bw.Write(hj)
	rng := rand.New(rand.NewPCG(s.Seed, 0x6866))
	for _, t := range ts {
		if err := t.write(bw, rng); err != nil {
			f.Close()
			return fmt.Errorf("bitnet: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("bitnet: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bitnet: %w", err)
	}
	return nil
}

func product(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// rng01 derives a number in [0, 1) from a name, so that scales do not
// depend on the order tensors are generated in.
func rng01(name string) float64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	return float64(h>>11) / (1 << 53)
}

// toBF16 rounds to the nearest bfloat16 (ties to even).
func toBF16(x float32) uint16 {
	b := math.Float32bits(x)
	return uint16((b + 0x7fff + (b >> 16 & 1)) >> 16)
}

// writeBF16 writes n bf16 values drawn from gen (through a table of 4096
// draws, for speed).
func writeBF16(w io.Writer, n int, rng *rand.Rand, gen func(*rand.Rand) float32) error {
	var table [4096]uint16
	for i := range table {
		table[i] = toBF16(gen(rng))
	}
	return modelgen.WriteTable16(w, n, rng, &table)
}

// validPacked lists the bytes whose four 2-bit codes are all 0, 1 or 2.
var validPacked = func() []byte {
	var out []byte
	for b := 0; b < 256; b++ {
		if b&(b>>1)&0x55 == 0 {
			out = append(out, byte(b))
		}
	}
	return out
}()

// writePacked writes n random bytes of four ternary codes each.
func writePacked(w io.Writer, n int, rng *rand.Rand) error {
	buf := make([]byte, 1<<16)
	for left := n; left > 0; {
		c := min(left, len(buf))
		for i := 0; i < c; i += 8 {
			r := rng.Uint64()
			for j := i; j < min(i+8, c); j++ {
				buf[j] = validPacked[(r&0xff)%81]
				r >>= 8
			}
		}
		if _, err := w.Write(buf[:c]); err != nil {
			return err
		}
		left -= c
	}
	return nil
}
