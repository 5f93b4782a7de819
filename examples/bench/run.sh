#!/bin/bash
# run.sh measures every kernel tier and thread count on a 2B4T-shaped model
# (REPS runs each, default 3) and redraws the README chart:
#
#	bash examples/bench/run.sh [DIR]     # DIR holds or gets the model (default /tmp/b2b)
set -eu
cd "$(dirname "$0")/../.."
dir=${1:-/tmp/b2b}
model=$dir/bitnet-2b4t-shaped.gguf
[ -f "$model" ] || go run ./examples/bench -make-model "$dir"
go build -o /tmp/bitnet-bench ./examples/bench
go build -tags purego -o /tmp/bitnet-bench-purego ./examples/bench
out=examples/bench/results-zen4-2core.jsonl
: > $out
for rep in $(seq "${REPS:-3}"); do
	for t in 2 1; do
		for cpu in avx512 avx2; do
			BITNET_CPU=$cpu /tmp/bitnet-bench -model "$model" -threads $t -prompt 128 -gen 64 >> $out
		done
		BITNET_CPU=avx512 /tmp/bitnet-bench -model "$model" -threads $t -prompt 128 -gen 64 -output-int8 |
			sed 's/"cpu_tier":"avx512"/"cpu_tier":"avx512, int8 output"/' >> $out
		if [ $t = 2 ]; then
			# Weights served from the file mapping instead of copied in.
			BITNET_CPU=avx512 /tmp/bitnet-bench -model "$model" -threads $t -prompt 128 -gen 64 -mmap |
				sed 's/"cpu_tier":"avx512"/"cpu_tier":"avx512, mmap"/' >> $out
		fi
	done
done
# The portable Go code is ~50 times slower: a shorter run.
for t in 2 1; do
	BITNET_CPU=generic /tmp/bitnet-bench -model "$model" -threads $t -prompt 16 -gen 8 >> $out
done
/tmp/bitnet-bench-purego -model "$model" -threads 2 -prompt 16 -gen 8 |
	sed 's/"threads"/"cpu_tier":"purego","threads"/' >> $out
go run ./examples/benchchart < $out > examples/bench/speed.svg
