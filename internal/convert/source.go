// Package convert reads BitNet b1.58 models from Hugging Face checkpoint
// directories and GGUF files, and writes them as GGUF files: I2_S in the
// layout and metadata of the official bitnet.cpp file (architecture
// "bitnet-b1.58"), or TQ2_0 / TQ1_0 under llama.cpp's architecture "bitnet".
//
// A [Source] presents either input the same way: hyper-parameters, and
// tensors by their GGUF names (FORMATS.md §1.2), with ternary projections
// decoded into [ternary.Matrix] and float tensors as views of the input
// file. The library's Hugging Face loader uses it too, so that loading and
// converting read a checkpoint identically.
//
// [Write] streams tensor data to the output file one tensor at a time, so
// memory stays bounded by the largest tensor, whatever the model size.
package convert

import (
	"fmt"
	"os"

	"github.com/org/bitnet/internal/gguf"
	"github.com/org/bitnet/internal/ternary"
)

// Source is a BitNet model opened for reading. The hyper-parameters are
// filled in by Open; tensors are read on demand by their GGUF names
// ("token_embd.weight", "blk.3.attn_q.weight", ...). Every tensor the model
// needs has been checked for presence, type and shape when Open returns.
type Source struct {
	Path          string  // the directory or file opened
	Format        string  // "safetensors" or "gguf"
	Arch          string  // "bitnet-b1.58", "bitnet-25" or "bitnet"
	Name          string  // general.name, or the directory name
	Hidden        int     // embedding width
	Layers        int     // transformer blocks
	Heads         int     // query heads
	KVHeads       int     // key/value heads
	HeadDim       int     // width of one head
	FFN           int     // feed-forward width
	Vocab         int     // rows of the embedding matrix
	Context       int     // trained context length
	RopeDim       int     // rotated dimensions per head
	RMSNormEps    float32 // RMSNorm epsilon
	RopeTheta     float64 // RoPE base
	Activation    string  // feed-forward gate activation: "relu2" or "silu"
	Tied          bool    // no separate output matrix: the embedding is reused
	WeightType    string  // storage of the ternary projections, e.g. "U8 packed", "BF16", "I2_S"
	EmbeddingType string  // storage of the token embedding, e.g. "BF16", "F16"

	b backend
}

// backend reads the tensors of one input format.
type backend interface {
	// check verifies that a tensor exists with a type and shape its kind
	// allows, without reading its data.
	check(spec TensorSpec) error
	has(name string) bool
	vector(name string, n int) ([]float32, error)
	float(name string, rows, cols int) (FloatTensor, error)
	ternary(name string, rows, cols int) (*ternary.Matrix, error)
	// scale returns the weight scale of a ternary projection when it can be
	// known without decoding the weights, and whether it can.
	scale(name string) (float32, bool)
	vocab() (*vocab, error)
	// release gives the memory of a tensor's input pages back (see
	// release), or of every tensor's when name is ""; the data stays
	// readable.
	release(name string)
	close() error
}

// FloatTensor is a full-precision matrix of Rows×Cols values, row-major.
type FloatTensor struct {
	Type       gguf.TensorType // F32, F16 or BF16
	Rows, Cols int
	// Data is the little-endian values, a view of the input file: do not
	// modify it or use it after Close. It may be unaligned.
	Data []byte
}

// TensorKind says how a tensor is stored and read.
type TensorKind int

// Tensor kinds.
const (
	KindVector  TensorKind = iota // a norm gain: n floats
	KindFloat                     // a full-precision matrix (embedding, output)
	KindTernary                   // a ternary projection
)

// TensorSpec is one tensor of the model: its GGUF name, kind and logical
// shape [Rows][Cols] (Rows = 1 for vectors).
type TensorSpec struct {
	Name       string
	Kind       TensorKind
	Rows, Cols int
}

// Tensors lists the tensors of the model in the order of the official GGUF
// file: token_embd, output_norm, (output), then per block attn_norm,
// attn_q, attn_k, attn_v, attn_sub_norm, attn_output, ffn_norm, ffn_gate,
// ffn_up, ffn_sub_norm, ffn_down.
func (s *Source) Tensors() []TensorSpec {
	d, q, kv, f := s.Hidden, s.Heads*s.HeadDim, s.KVHeads*s.HeadDim, s.FFN
	specs := []TensorSpec{
		{"token_embd.weight", KindFloat, s.Vocab, d},
		{"output_norm.weight", KindVector, 1, d},
	}
	if !s.Tied {
		specs = append(specs, TensorSpec{"output.weight", KindFloat, s.Vocab, d})
	}
	for l := 0; l < s.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		specs = append(specs,
			TensorSpec{p + "attn_norm.weight", KindVector, 1, d},
			TensorSpec{p + "attn_q.weight", KindTernary, q, d},
			TensorSpec{p + "attn_k.weight", KindTernary, kv, d},
			TensorSpec{p + "attn_v.weight", KindTernary, kv, d},
			TensorSpec{p + "attn_sub_norm.weight", KindVector, 1, q},
			TensorSpec{p + "attn_output.weight", KindTernary, d, q},
			TensorSpec{p + "ffn_norm.weight", KindVector, 1, d},
			TensorSpec{p + "ffn_gate.weight", KindTernary, f, d},
			TensorSpec{p + "ffn_up.weight", KindTernary, f, d},
			TensorSpec{p + "ffn_sub_norm.weight", KindVector, 1, f},
			TensorSpec{p + "ffn_down.weight", KindTernary, d, f},
		)
	}
	return specs
}

// Parameters returns the number of weights of the model (the tied
// embedding counted once).
func (s *Source) Parameters() int64 {
	var n int64
	for _, t := range s.Tensors() {
		n += int64(t.Rows) * int64(t.Cols)
	}
	return n
}

// checkAll verifies every tensor the model needs.
func (s *Source) checkAll() error {
	for _, t := range s.Tensors() {
		if err := s.b.check(t); err != nil {
			return err
		}
	}
	return nil
}

// Open opens a Hugging Face checkpoint directory (OpenHF) or a GGUF file
// (OpenGGUF).
func Open(path string) (*Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("bitnet: %w", err)
	}
	if st.IsDir() {
		return OpenHF(path)
	}
	return OpenGGUF(path)
}

// Has reports whether the input holds the named tensor (GGUF name).
func (s *Source) Has(name string) bool { return s.b.has(name) }

// Vector reads a 1-D float tensor of n values as float32.
func (s *Source) Vector(name string, n int) ([]float32, error) { return s.b.vector(name, n) }

// Float returns a rows×cols full-precision matrix as it is stored.
func (s *Source) Float(name string, rows, cols int) (FloatTensor, error) {
	return s.b.float(name, rows, cols)
}

// Ternary reads a ternary projection of rows output features by cols
// inputs. Packed and quantized weights are decoded; float weights are
// ternarized (FORMATS.md decision 2). The matrix may refer to the input
// file (Matrix.InPlace).
func (s *Source) Ternary(name string, rows, cols int) (*ternary.Matrix, error) {
	return s.b.ternary(name, rows, cols)
}

// Release gives back the memory of the named tensor's input pages, once
// it has been read into a copy: its data stays valid (pages are read back
// from the file when touched again), but it no longer counts in the
// process's resident memory.
func (s *Source) Release(name string) { s.b.release(name) }

// Close releases the input's mappings. Tensor data read from the Source
// must not be used afterwards, except copies (ternary matrices that are
// not InPlace, vectors).
func (s *Source) Close() error {
	if s == nil || s.b == nil {
		return nil
	}
	b := s.b
	s.b = nil
	return b.close()
}

// vocab is the tokenizer as GGUF stores it (tokenizer.ggml.*).
type vocab struct {
	model        string    // tokenizer.ggml.model: "gpt2"
	pre          string    // tokenizer.ggml.pre of the input, "" when absent
	tokens       []string  // GPT-2 byte-to-unicode form; special tokens as their text
	scores       []float32 // nil: all zero
	types        []int32   // 1 normal, 3 control, 4 user defined, 5 unused
	merges       []string  // "a b", rank order
	bos, eos     int       // -1: none
	pad          int       // -1: none
	addBOS       bool
	chatTemplate string // "" when the input has none
}

// defaultChatTemplate is BitNet b1.58 2B4T's chat format (FORMATS.md
// decision 9): "Role: content<|eot_id|>" per message, then "Assistant: ".
// It holds no BOS: tokenization adds it (add_bos_token).
const defaultChatTemplate = "{% for message in messages %}" +
	"{{ message['role'] | capitalize }}: {{ message['content'] | trim }}<|eot_id|>" +
	"{% endfor %}{% if add_generation_prompt %}Assistant: {% endif %}"
