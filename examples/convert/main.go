// Command convert converts BitNet b1.58 models to GGUF, in pure Go.
//
// The input is a Hugging Face checkpoint directory (config.json,
// model.safetensors or shards, tokenizer.json), with packed ternary weights
// or bf16 master weights, or a GGUF file of any type the library reads. The
// output is one of
//
//	i2_s   bitnet.cpp's I2_S, architecture "bitnet-b1.58", the layout and keys
//	       of the official ggml-model-i2_s.gguf
//	tq2_0  llama.cpp's TQ2_0, architecture "bitnet"
//	tq1_0  llama.cpp's TQ1_0, architecture "bitnet"
//
// Usage:
//
//	convert -in bitnet-b1.58-2B-4T -out model-i2_s.gguf
//	convert -in model-i2_s.gguf -out model-tq1_0.gguf -type tq1_0
//	convert -make-hf /tmp/bitnet-2b    # a 2B4T-shaped checkpoint with random weights
//
// Measure a full-size conversion (time and peak memory) with
//
//	go build -o /tmp/convert ./examples/convert
//	/tmp/convert -make-hf /tmp/hf2b
//	/usr/bin/time -v /tmp/convert -in /tmp/hf2b -out /tmp/hf2b-i2_s.gguf
//
// A progress bar is drawn when standard error is a terminal.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/org/bitnet/internal/convert"
)

func main() {
	in := flag.String("in", "", "input: a Hugging Face checkpoint directory or a GGUF file")
	out := flag.String("out", "", "output GGUF file")
	typ := flag.String("type", "i2_s", "output weight type: i2_s, tq2_0 or tq1_0")
	name := flag.String("name", "", "general.name of the output (default: the input's name)")
	quiet := flag.Bool("q", false, "print nothing but errors")
	makeHF := flag.String("make-hf", "", "write a 2B4T-shaped Hugging Face checkpoint with random packed weights to this directory, and exit")
	layers := flag.Int("layers", convert.HF2B4T.Layers, "with -make-hf: number of layers")
	master := flag.Bool("master", false, "with -make-hf: bf16 master weights (quantization_mode online, like the -bf16 repository) instead of packed ones")
	flag.Parse()

	if *makeHF != "" {
		spec := convert.HF2B4T
		spec.Layers = *layers
		spec.Master = *master
		start := time.Now()
		if err := convert.MakeHF(*makeHF, spec); err != nil {
			fail(err)
		}
		if !*quiet {
			fmt.Fprintf(os.Stderr, "wrote %s in %.1f s\n", *makeHF, time.Since(start).Seconds())
		}
		return
	}
	if *in == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: convert -in MODEL -out FILE.gguf [-type i2_s|tq2_0|tq1_0]")
		flag.PrintDefaults()
		os.Exit(2)
	}
	t, err := convert.ParseType(*typ)
	if err != nil {
		fail(err)
	}
	opts := convert.Options{Type: t, Name: *name}
	if !*quiet {
		bar := convert.NewBar(os.Stderr, convert.IsTerminal(os.Stderr), *out)
		opts.Progress = bar.Update
	}
	if err := convert.Convert(*in, *out, opts); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
