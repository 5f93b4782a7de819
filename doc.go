// Package bitnet runs Microsoft's BitNet b1.58 ternary language models
// (first of all bitnet-b1.58-2B-4T) on CPUs, in pure Go: no cgo, no Python,
// no server.
//
// # Loading
//
// Load opens the model files people download: bitnet.cpp's GGUF files with
// I2_S weights (the official ggml-model-i2_s.gguf), llama.cpp's "bitnet"
// GGUF files with TQ1_0, TQ2_0 or float weights, and Hugging Face model
// directories (packed ternary or bf16 master weights). The file is
// memory-mapped; the weights a token streams through (the ternary
// projections and the output matrix) are copied once into the process's
// memory, on transparent huge pages where the system has them, which makes
// decoding 10-40% faster than reading them from the page cache. Loading
// 2B4T takes about a second and the peak memory stays near the file's size;
// WithMmap reads the weights from the mapping instead, sharing the pages
// between processes.
//
//	m, err := bitnet.Load("ggml-model-i2_s.gguf")
//	if err != nil { ... }
//	defer m.Close()
//
// # Generating
//
// Tokens streams a continuation with a range-over-func iterator; Generate
// returns it whole; Chat and ChatTokens apply the model's chat format.
//
//	for tok, err := range m.Tokens(ctx, "The capital of France is", nil) {
//		if err != nil { ... }
//		fmt.Print(tok.Text)
//	}
//
// A nil *GenerateOptions means DefaultGenerateOptions (bitnet.cpp's
// sampling defaults); &GenerateOptions{} is greedy decoding.
//
// # Sessions
//
// A Session is one token sequence and its KV cache: Eval appends tokens,
// Logits reads the next-token logits, Truncate rewinds, and Session.Chat
// continues a conversation evaluating only the new turn.
//
// # Numerics
//
// Every ternary projection quantizes its input per token to int8 (absmax),
// multiplies by the ternary weights in integers and rescales by γ/s, as the
// model was trained and as bitnet.cpp runs it, whatever the file format.
// The feed-forward gate of bitnet-b1.58 models is relu(x)² (the C++ engines
// currently use SiLU there, which is wrong). The output matrix runs in full
// precision.
//
// # Concurrency
//
// A Model is safe for concurrent use: each Generate, Tokens or Chat call has
// its own Session, and all of them share the model's worker pool
// (WithThreads) instead of starting goroutines of their own. A Session
// belongs to one goroutine at a time.
//
// # CPU support
//
// The kernels have AVX2 and AVX-512 versions (generated with avo, in asm/)
// and portable Go versions; the fastest one the CPU supports is chosen at
// start-up. BITNET_CPU=generic|avx2|avx512 caps the choice, and the purego
// build tag leaves the assembly out.
package bitnet

//go:generate sh -c "cd asm && go generate ./..."
