// Command benchchart draws the output of examples/bench as an SVG bar chart:
// prefill and decode tokens/s for each kernel tier and thread count, with
// the C++ engines' figures marked for comparison.
//
//	for cpu in generic avx2 avx512; do for t in 1 2; do
//	  BITNET_CPU=$cpu go run ./examples/bench -model /tmp/b2b/bitnet-2b4t-shaped.gguf -threads $t
//	done; done > bench.jsonl
//	go run ./examples/benchchart < bench.jsonl > docs/speed.svg
//
// Lines with the same tier and threads are reduced to their median.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"io"
	"os"
	"slices"
	"strings"
)

type run struct {
	Threads int     `json:"threads"`
	CPU     string  `json:"cpu_tier"`
	Prefill float64 `json:"prefill_tokens_per_s"`
	Decode  float64 `json:"decode_tokens_per_s"`
}

type ref struct {
	name            string
	prefill, decode float64
}

func main() {
	title := flag.String("title", "bitnet-b1.58-2B-4T shapes, 2-core Zen 4 (tokens/s, higher is better)", "chart title")
	llamaPrefill := flag.Float64("llama-prefill", 54, "llama.cpp prefill tokens/s measured on the same machine")
	llamaDecode := flag.Float64("llama-decode", 21.8, "llama.cpp decode tokens/s measured on the same machine")
	bitnetPrefill := flag.Float64("bitnetcpp-prefill", 53, "bitnet.cpp prefill tokens/s")
	bitnetDecode := flag.Float64("bitnetcpp-decode", 18.5, "bitnet.cpp decode tokens/s")
	flag.Parse()
	runs, err := read(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchchart:", err)
		os.Exit(1)
	}
	refs := []ref{{"llama.cpp (TQ2_0)", *llamaPrefill, *llamaDecode}, {"bitnet.cpp (I2_S)", *bitnetPrefill, *bitnetDecode}}
	fmt.Print(svg(*title, runs, refs))
}

func read(r io.Reader) ([]run, error) {
	groups := map[string][]run{}
	var order []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var x run
		if err := json.Unmarshal([]byte(line), &x); err != nil {
			return nil, err
		}
		if x.CPU == "" {
			x.CPU = "best"
		}
		key := fmt.Sprintf("%s/%d", x.CPU, x.Threads)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], x)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("no JSON lines from examples/bench on standard input")
	}
	var out []run
	for _, k := range order {
		g := groups[k]
		out = append(out, run{Threads: g[0].Threads, CPU: g[0].CPU,
			Prefill: median(g, func(r run) float64 { return r.Prefill }),
			Decode:  median(g, func(r run) float64 { return r.Decode })})
	}
	return out, sc.Err()
}

func median(g []run, f func(run) float64) float64 {
	v := make([]float64, len(g))
	for i, r := range g {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// svg draws two panels (prefill, decode) of horizontal bars.
func svg(title string, runs []run, refs []ref) string {
	const (
		width, left, barH, gap, panelGap, top = 820, 210, 18, 6, 40, 50
	)
	plotW := float64(width - left - 70)
	var b strings.Builder
	panelH := len(runs)*(barH+gap) + 30
	height := top + 2*panelH + panelGap + 40
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	colors := []string{"#4c72b0", "#dd8452"}
	refColors := []string{"#c44e52", "#8172b3"}
	for p, panel := range []struct {
		name string
		get  func(run) float64
		ref  func(ref) float64
	}{
		{"prefill (128-token prompt)", func(r run) float64 { return r.Prefill }, func(r ref) float64 { return r.prefill }},
		{"decode", func(r run) float64 { return r.Decode }, func(r ref) float64 { return r.decode }},
	} {
		y0 := top + p*(panelH+panelGap)
		maxV := 1.0
		for _, r := range runs {
			maxV = max(maxV, panel.get(r))
		}
		for _, r := range refs {
			maxV = max(maxV, panel.ref(r))
		}
		maxV *= 1.1
		fmt.Fprintf(&b, `<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y0, panel.name)
		for i, r := range runs {
			y := y0 + 12 + i*(barH+gap)
			v := panel.get(r)
			w := v / maxV * plotW
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s, %d thread%s</text>`, left-8, y+barH-5, r.CPU, r.Threads, plural(r.Threads))
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`, left, y, w, barH, colors[p])
			fmt.Fprintf(&b, `<text x="%.1f" y="%d">%.1f</text>`+"\n", float64(left)+w+4, y+barH-5, v)
		}
		bottom := y0 + 12 + len(runs)*(barH+gap)
		for i, r := range refs {
			x := float64(left) + panel.ref(r)/maxV*plotW
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="5,3"/>`, x, y0+6, x, bottom, refColors[i])
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="%s" font-size="11">%s %.1f</text>`+"\n", x+3, bottom+12+12*i, refColors[i], html.EscapeString(r.name), panel.ref(r))
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
