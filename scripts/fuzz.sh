#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer + UBSan) and runs
# each for SECONDS (default 120): scripts/fuzz.sh [SECONDS]
# Needs clang and libclang-rt-14-dev (not part of the regular dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFRUGAL_BUILD_FUZZERS=ON \
  -DFRUGAL_BUILD_TESTS=OFF -DFRUGAL_BUILD_BENCHMARKS=OFF > /dev/null
cmake --build build-fuzz --target tokenizer_fuzz safetensors_fuzz
mkdir -p build-fuzz/corpus/tokenizer build-fuzz/corpus/safetensors
# Seed the corpora with real inputs.
cp tests/data/golden/v2-tiny/checkpoint/model.safetensors build-fuzz/corpus/safetensors/ 2>/dev/null || true
head -c 4000 tests/data/tokenizer/golden_encode.jsonl > build-fuzz/corpus/tokenizer/seed.txt
for target in tokenizer_fuzz safetensors_fuzz; do
  corpus=build-fuzz/corpus/${target%_fuzz}
  echo "== $target for $seconds s"
  build-fuzz/fuzz/$target -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 "$corpus" 2>&1 | tail -12
done
