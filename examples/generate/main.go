// Command generate continues a prompt with a BitNet model and streams the
// text to stdout; speed goes to stderr.
//
//	go run ./examples/generate -prompt 'func main() {'
//	go run ./examples/generate -model models/2B4T/ggml-model-i2_s.gguf -prompt 'The capital of France is'
//
// With no -model it runs go-demo, a tiny ternary model trained on Go source
// that is embedded in the program.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"time"

	"github.com/org/bitnet"
	"github.com/org/bitnet/internal/demo"
)

func main() {
	modelPath := flag.String("model", "", "GGUF model file or Hugging Face directory (default: the embedded go-demo model)")
	prompt := flag.String("prompt", "func main() {\n", "prompt text")
	n := flag.Int("n", 128, "most tokens to generate (0: until end of text or a full context)")
	temp := flag.Float64("temp", -1, "temperature (0: greedy; default 0.8, or 0.7 for the demo model)")
	topK := flag.Int("top-k", 40, "top-k (0: off)")
	topP := flag.Float64("top-p", 0.95, "top-p (1: off)")
	minP := flag.Float64("min-p", 0.05, "min-p (0: off)")
	repeat := flag.Float64("repeat-penalty", 1, "repeat penalty (1: off)")
	seed := flag.Uint64("seed", 0, "random seed (0: random)")
	threads := flag.Int("threads", runtime.NumCPU(), "threads")
	ctxSize := flag.Int("ctx", 0, "context size in tokens (0: the model's, at most 4096)")
	flag.Parse()

	opts := []bitnet.LoadOption{bitnet.WithThreads(*threads), bitnet.WithContextSize(*ctxSize)}
	var m *bitnet.Model
	var err error
	if *modelPath == "" {
		fmt.Fprintln(os.Stderr, demo.About)
		m, err = bitnet.LoadGGUF(demo.GGUF, opts...)
		if *temp < 0 {
			*temp = 0.7
		}
	} else {
		m, err = bitnet.Load(*modelPath, opts...)
	}
	if err != nil {
		fatal(err)
	}
	defer m.Close()
	if *temp < 0 {
		*temp = 0.8
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	gopts := &bitnet.GenerateOptions{
		MaxTokens:     *n,
		Temperature:   float32(*temp),
		TopK:          *topK,
		TopP:          float32(*topP),
		MinP:          float32(*minP),
		RepeatPenalty: float32(*repeat),
		Seed:          *seed,
	}
	fmt.Print(*prompt)
	start := time.Now()
	var first time.Time
	count := 0
	for tok, err := range m.Tokens(ctx, *prompt, gopts) {
		if err != nil {
			fatal(err)
		}
		if count == 0 {
			first = time.Now()
		}
		count++
		fmt.Print(tok.Text)
	}
	fmt.Println()
	if count > 0 {
		promptTokens := len(m.Tokenizer().Encode(*prompt)) + 1
		prefill := first.Sub(start).Seconds()
		fmt.Fprintf(os.Stderr, "prompt: %d tokens in %.2fs (%.1f tokens/s, first token included); generated: %d tokens",
			promptTokens, prefill, float64(promptTokens)/prefill, count)
		if count > 1 {
			fmt.Fprintf(os.Stderr, " at %.1f tokens/s", float64(count-1)/time.Since(first).Seconds())
		}
		fmt.Fprintln(os.Stderr)
	}
}

func fatal(err error) {
	if errors.Is(err, context.Canceled) {
		os.Exit(130)
	}
	fmt.Fprintln(os.Stderr, "generate:", err)
	os.Exit(1)
}
