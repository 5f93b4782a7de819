package bitnet_test

import (
	"context"
	"fmt"
	"log"

	"github.com/org/bitnet"
	"github.com/org/bitnet/internal/demo"
)

// Load a model file and stream a continuation of a prompt.
func Example() {
	m, err := bitnet.Load("ggml-model-i2_s.gguf")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	for tok, err := range m.Tokens(context.Background(), "The capital of France is", nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(tok.Text)
	}
}

// Greedy decoding of the embedded demo model, a tiny BitNet trained on Go
// source.
func ExampleModel_Generate() {
	m, err := bitnet.LoadGGUF(demo.GGUF)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	res, err := m.Generate(context.Background(), "func main() {\n", &bitnet.GenerateOptions{MaxTokens: 9})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q (%s)\n", res.Text, res.StopReason)
	// Output: "\tif len(&buf) > 0" (max tokens)
}

// Stream tokens as they are generated.
func ExampleModel_Tokens() {
	m, err := bitnet.LoadGGUF(demo.GGUF)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	opts := &bitnet.GenerateOptions{MaxTokens: 5, Stop: []string{"\n"}}
	for tok, err := range m.Tokens(context.Background(), "package main\n\nimport ", opts) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(tok.Text)
	}
	fmt.Println()
}

// A chat keeps one session, so that each turn evaluates only its new
// messages.
func ExampleSession_Chat() {
	m, err := bitnet.Load("ggml-model-i2_s.gguf")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	r, err := s.Chat(ctx, []bitnet.Message{
		{Role: "system", Content: "You are a helpful assistant."},
		{Role: "user", Content: "What is BitNet?"},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Text)
	r, err = s.Chat(ctx, []bitnet.Message{{Role: "user", Content: "Say it in one line."}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Text)
}

// Evaluate tokens and read the next-token logits.
func ExampleSession_Eval() {
	m, err := bitnet.LoadGGUF(demo.GGUF)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	tok := m.Tokenizer()
	ids := append([]int{tok.BOS()}, tok.Encode("for i := 0; i < n; i++")...)
	if err := s.Eval(context.Background(), ids); err != nil {
		log.Fatal(err)
	}
	best := 0
	for id, v := range s.Logits() {
		if v > s.Logits()[best] {
			best = id
		}
	}
	fmt.Printf("%d tokens, next: %q\n", s.Len(), tok.Decode([]int{best}))
	// Output: 14 tokens, next: " {\n"
}

// Load options: two threads, a 2048-token KV cache per session, and the
// weights read straight from the memory-mapped file (a faster load and
// pages shared with other processes, at some decode speed) instead of
// copied into the process's memory.
func ExampleWithMmap() {
	m, err := bitnet.Load("ggml-model-i2_s.gguf",
		bitnet.WithThreads(2), bitnet.WithContextSize(2048), bitnet.WithMmap())
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fmt.Println(m.Info().ContextSize)
}
