// Package demo embeds go-demo, a tiny trained BitNet b1.58 model (3.5M
// parameters, 1.6 MB, the official I2_S layout) that writes Go-like code,
// so that the examples run on a fresh clone with no download.
//
// It was trained from scratch with quantization-aware training on Go source
// from the Go distribution; it has Go's layout and idioms but does not write
// valid programs. Sample it with temperature about 0.7 and top-k 40.
package demo

import _ "embed"

// GGUF is the model file.
//
//go:embed go-demo.gguf
var GGUF []byte

// About describes the model in one line for users.
const About = "go-demo: a 3.5M-parameter ternary BitNet b1.58 trained on Go source (1.6 MB, embedded); " +
	"for the real model run: huggingface-cli download microsoft/bitnet-b1.58-2B-4T-gguf --local-dir models/2B4T " +
	"and pass -model models/2B4T/ggml-model-i2_s.gguf"
