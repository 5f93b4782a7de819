// Command chat is an interactive multi-turn chat with a BitNet model. It
// keeps one session for the whole conversation, so each turn evaluates only
// the new message.
//
//	huggingface-cli download microsoft/bitnet-b1.58-2B-4T-gguf --local-dir models/2B4T
//	go run ./examples/chat -model models/2B4T/ggml-model-i2_s.gguf -system 'You are a helpful assistant.'
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"

	"github.com/org/bitnet"
	"github.com/org/bitnet/internal/demo"
)

func main() {
	modelPath := flag.String("model", "", "GGUF model file or Hugging Face directory (default: the embedded go-demo model, which is no chat model)")
	system := flag.String("system", "You are a helpful assistant.", "system message")
	n := flag.Int("n", 512, "most tokens per reply")
	temp := flag.Float64("temp", 0.8, "temperature (0: greedy)")
	seed := flag.Uint64("seed", 0, "random seed (0: random)")
	threads := flag.Int("threads", runtime.NumCPU(), "threads")
	flag.Parse()

	var m *bitnet.Model
	var err error
	if *modelPath == "" {
		fmt.Fprintln(os.Stderr, "no -model given: "+demo.About)
		m, err = bitnet.LoadGGUF(demo.GGUF, bitnet.WithThreads(*threads))
	} else {
		m, err = bitnet.Load(*modelPath, bitnet.WithThreads(*threads))
	}
	if err != nil {
		fatal(err)
	}
	defer m.Close()
	sess, err := m.NewSession()
	if err != nil {
		fatal(err)
	}
	defer sess.Close()

	opts := bitnet.DefaultGenerateOptions()
	opts.MaxTokens, opts.Temperature, opts.Seed = *n, float32(*temp), *seed
	var pending []bitnet.Message
	if *system != "" {
		pending = append(pending, bitnet.Message{Role: "system", Content: *system})
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for {
		fmt.Print("> ")
		if !in.Scan() {
			fmt.Println()
			return
		}
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		msgs := append(pending, bitnet.Message{Role: "user", Content: line})
		pending = nil
		// Ctrl-C stops the reply, not the program.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		for tok, err := range sess.ChatTokens(ctx, msgs, &opts) {
			if errors.Is(err, context.Canceled) {
				fmt.Print(" [stopped]")
				break
			}
			if errors.Is(err, bitnet.ErrContextFull) {
				fmt.Print("\n[the context is full; start a new chat]")
				break
			}
			if err != nil {
				fatal(err)
			}
			fmt.Print(tok.Text)
		}
		stop()
		fmt.Println()
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "chat:", err)
	os.Exit(1)
}
