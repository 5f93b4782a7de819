#!/bin/sh
# check.sh regenerates every avo-generated file and fails if the result
# differs from what is committed (or if a generated file is not tracked).
# Run from anywhere: sh asm/check.sh
set -eu
cd "$(dirname "$0")"
go generate ./...
cd ..
generated="internal/cpu/cpu_amd64.s internal/cpu/cpu_amd64.go
internal/kernels/i2s_amd64.s internal/kernels/i2s_amd64.go
internal/kernels/quant_amd64.s internal/kernels/quant_amd64.go
internal/kernels/f16_amd64.s internal/kernels/f16_amd64.go
internal/kernels/f32_amd64.s internal/kernels/f32_amd64.go
internal/kernels/q8_amd64.s internal/kernels/q8_amd64.go
internal/kernels/vec_amd64.s internal/kernels/vec_amd64.go"
# shellcheck disable=SC2086
git ls-files --error-unmatch $generated >/dev/null
# shellcheck disable=SC2086
git diff --exit-code -- $generated
echo "asm: generated files are up to date"
