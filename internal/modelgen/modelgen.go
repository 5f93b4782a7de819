// Package modelgen writes BitNet GGUF files with random weights in the real
// layouts: tiny models for tests, and 2B4T-shaped models for benchmarks.
package modelgen

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/org/bitnet/internal/gguf"
	"github.com/x448/float16"
)

// Spec describes the model to write.
type Spec struct {
	Arch    string // "bitnet-b1.58" (default), "bitnet-25" or "bitnet"
	Dim     int
	Layers  int
	Heads   int
	KVHeads int
	FFN     int
	Vocab   int // ignored when VocabFrom is set
	Ctx     int
	Theta   float32
	Seed    uint64
	// VocabFrom, when set, supplies the tokenizer.* metadata (and so the
	// vocabulary size); otherwise a byte-level vocabulary of Vocab tokens is
	// made up, with <|begin_of_text|>, <|end_of_text|> and <|eot_id|> last.
	VocabFrom *gguf.File
}

// TwoB4T is the shape of bitnet-b1.58-2B-4T.
var TwoB4T = Spec{Arch: "bitnet-b1.58", Dim: 2560, Layers: 30, Heads: 20, KVHeads: 5, FFN: 6912, Vocab: 128256, Ctx: 4096, Theta: 500000}

// Tiny is a small model for tests.
var Tiny = Spec{Arch: "bitnet-b1.58", Dim: 256, Layers: 2, Heads: 4, KVHeads: 2, FFN: 512, Vocab: 384, Ctx: 128, Theta: 10000}

// Writer returns a gguf.Writer holding the model; its tensor data is
// generated while the file is written.
func (s Spec) Writer() (*gguf.Writer, error) {
	if s.Arch == "" {
		s.Arch = "bitnet-b1.58"
	}
	if s.Dim%128 != 0 || s.FFN%128 != 0 || s.Heads <= 0 || s.Dim%s.Heads != 0 || s.KVHeads <= 0 || s.Heads%s.KVHeads != 0 {
		return nil, fmt.Errorf("modelgen: bad shape %+v", s)
	}
	w := gguf.NewWriter()
	a := s.Arch + "."
	hd := s.Dim / s.Heads
	w.Set("general.architecture", s.Arch)
	w.Set("general.name", "random-"+s.Arch)
	vocab := s.Vocab
	if s.VocabFrom != nil {
		if v, ok := s.VocabFrom.Lookup("tokenizer.ggml.tokens"); ok {
			vocab = v.Count
		}
	}
	w.Set(a+"vocab_size", uint32(vocab))
	w.Set(a+"context_length", uint32(s.Ctx))
	w.Set(a+"embedding_length", uint32(s.Dim))
	w.Set(a+"block_count", uint32(s.Layers))
	w.Set(a+"feed_forward_length", uint32(s.FFN))
	w.Set(a+"rope.dimension_count", uint32(hd))
	w.Set(a+"attention.head_count", uint32(s.Heads))
	w.Set(a+"attention.head_count_kv", uint32(s.KVHeads))
	w.Set("tokenizer.ggml.add_bos_token", true)
	w.Set(a+"attention.layer_norm_rms_epsilon", float32(1e-5))
	w.Set(a+"rope.freq_base", s.Theta)
	w.Set("general.file_type", uint32(40))
	if s.VocabFrom != nil {
		for _, kv := range s.VocabFrom.KVs {
			if strings.HasPrefix(kv.Key, "tokenizer.") {
				w.SetValue(kv.Key, kv.Value)
			}
		}
	} else {
		setByteVocab(w, vocab)
	}
	w.Set("general.quantization_version", uint32(2))

	rng := rand.New(rand.NewPCG(s.Seed, 0x62697463))
	w.AddTensorFunc("token_embd.weight", gguf.F16, []uint64{uint64(s.Dim), uint64(vocab)}, uint64(s.Dim*vocab*2), f16Writer(rng.Uint64(), s.Dim*vocab))
	addNorm := func(name string, n int) {
		w.AddTensor(name, gguf.F32, []uint64{uint64(n)}, normData(rng, n))
	}
	addI2S := func(name string, in, out int) {
		n := in * out
		w.AddTensorFunc(name, gguf.I2_S, []uint64{uint64(in), uint64(out)}, uint64(n/4+32), i2sWriter(rng.Uint64(), n, 0.5+rng.Float32()))
	}
	addNorm("output_norm.weight", s.Dim)
	kv := s.KVHeads * hd
	for l := 0; l < s.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		addNorm(p+"attn_norm.weight", s.Dim)
		addI2S(p+"attn_q.weight", s.Dim, s.Dim)
		addI2S(p+"attn_k.weight", s.Dim, kv)
		addI2S(p+"attn_v.weight", s.Dim, kv)
		addNorm(p+"attn_sub_norm.weight", s.Dim)
		addI2S(p+"attn_output.weight", s.Dim, s.Dim)
		addNorm(p+"ffn_norm.weight", s.Dim)
		addI2S(p+"ffn_gate.weight", s.Dim, s.FFN)
		addI2S(p+"ffn_up.weight", s.Dim, s.FFN)
		addNorm(p+"ffn_sub_norm.weight", s.FFN)
		addI2S(p+"ffn_down.weight", s.FFN, s.Dim)
	}
	return w, nil
}

// WriteTo writes the model.
func (s Spec) WriteTo(out io.Writer) (int64, error) {
	w, err := s.Writer()
	if err != nil {
		return 0, err
	}
	return w.WriteTo(out)
}

// WriteFile writes the model to path.
func (s Spec) WriteFile(path string) error {
	w, err := s.Writer()
	if err != nil {
		return err
	}
	return w.WriteFile(path)
}

func normData(rng *rand.Rand, n int) []byte {
	b := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(1+0.1*rng.NormFloat64())))
	}
	return b
}

// validI2S lists the bytes whose four 2-bit codes are all in {0,1,2}.
var validI2S = func() []byte {
	var out []byte
	for b := 0; b < 256; b++ {
		if b&(b>>1)&0x55 == 0 {
			out = append(out, byte(b))
		}
	}
	return out
}()

func i2sWriter(seed uint64, n int, scale float32) func(io.Writer) error {
	return func(w io.Writer) error {
		rng := rand.New(rand.NewPCG(seed, 1))
		buf := make([]byte, 1<<16)
		for left := n / 4; left > 0; {
			c := min(left, len(buf))
			for i := 0; i < c; i += 8 {
				r := rng.Uint64()
				for j := i; j < min(i+8, c); j++ {
					buf[j] = validI2S[(r&0xff)%81]
					r >>= 8
				}
			}
			if _, err := w.Write(buf[:c]); err != nil {
				return err
			}
			left -= c
		}
		var tail [32]byte
		binary.LittleEndian.PutUint32(tail[:], math.Float32bits(scale))
		_, err := w.Write(tail[:])
		return err
	}
}

func f16Writer(seed uint64, n int) func(io.Writer) error {
	return func(w io.Writer) error {
		rng := rand.New(rand.NewPCG(seed, 2))
		var table [4096]uint16
		for i := range table {
			table[i] = float16.Fromfloat32(float32(0.05 * rng.NormFloat64())).Bits()
		}
		return WriteTable16(w, n, rng, &table)
	}
}

// WriteTable16 writes n little-endian 16-bit values drawn at random from
// table: a fast way to fill a large f16 or bf16 tensor with random values.
func WriteTable16(w io.Writer, n int, rng *rand.Rand, table *[4096]uint16) error {
	buf := make([]byte, 1<<16)
	for left := n; left > 0; {
		c := min(left, len(buf)/2)
		for i := 0; i < c; i += 4 {
			r := rng.Uint64()
			for j := i; j < min(i+4, c); j++ {
				binary.LittleEndian.PutUint16(buf[2*j:], table[r&4095])
				r >>= 16
			}
		}
		if _, err := w.Write(buf[:2*c]); err != nil {
			return err
		}
		left -= c
	}
	return nil
}

// setByteVocab writes a GPT-2 style vocabulary: the 256 bytes in
// byte-to-unicode form, filler tokens, then three special tokens.
func setByteVocab(w *gguf.Writer, vocab int) {
	if vocab < 259 {
		panic("modelgen: a byte vocabulary needs at least 259 tokens")
	}
	tokens := make([]string, vocab)
	types := make([]int32, vocab)
	for b := 0; b < 256; b++ {
		tokens[b] = string(byteRune(byte(b)))
		types[b] = 1
	}
	for i := 256; i < vocab-3; i++ {
		tokens[i] = fmt.Sprintf("<|filler_%d|>", i)
		types[i] = 4 // user defined
	}
	specials := []string{"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"}
	for i, sp := range specials {
		tokens[vocab-3+i] = sp
		types[vocab-3+i] = 3
	}
	w.Set("tokenizer.ggml.model", "gpt2")
	w.Set("tokenizer.ggml.tokens", tokens)
	w.Set("tokenizer.ggml.token_type", types)
	w.Set("tokenizer.ggml.merges", []string{})
	w.Set("tokenizer.ggml.bos_token_id", uint32(vocab-3))
	w.Set("tokenizer.ggml.eos_token_id", uint32(vocab-2))
}

// byteRune is GPT-2's byte-to-unicode map: printable bytes stand for
// themselves, the others map to U+0100 onwards in byte order.
func byteRune(b byte) rune {
	switch {
	case b >= '!' && b <= '~', b >= 0xA1 && b <= 0xAC, b >= 0xAE:
		return rune(b)
	}
	n := 0
	for c := 0; c < int(b); c++ {
		cb := byte(c)
		if !(cb >= '!' && cb <= '~' || cb >= 0xA1 && cb <= 0xAC || cb >= 0xAE) {
			n++
		}
	}
	return rune(256 + n)
}
