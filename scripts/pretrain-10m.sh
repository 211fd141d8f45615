#!/usr/bin/env bash
# Pre-trains the ~10M-parameter DeepSeek-V3-style model of docs/training.md
# (configs/pretrain-10m.json: MLA, 16 routed experts top-2 + 1 shared, one
# MTP module) on English text from Debian packages, from nothing:
# corpus -> BPE tokenizer (4096) -> token data -> random init -> frugal train.
#   scripts/pretrain-10m.sh OUT_DIR [more `frugal train` flags, e.g. --bias-gamma 0]
# Expects a build (scripts/build.sh); FRUGAL overrides the binary.
set -euo pipefail
out=${1:?usage: scripts/pretrain-10m.sh OUT_DIR [frugal train flags]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
frugal=${FRUGAL:-$root/build/apps/frugal/frugal}

[ -f "$out/corpus/kjv.txt" ] || "$root/scripts/debian-corpus.sh" "$out/corpus"
[ -f "$out/tokenizer/tokenizer.json" ] ||
  "$frugal" train-tokenizer --vocab 4096 --input "$out/corpus/kjv.txt" "$out/corpus/fortunes.txt" --out "$out/tokenizer"
[ -f "$out/data/data.json" ] ||
  "$frugal" prepare-data --tokenizer "$out/tokenizer" --input "$out/corpus/kjv.txt" "$out/corpus/fortunes.txt" \
    --out "$out/data" --held-out 0.02 --seed 1
[ -f "$out/init/config.json" ] ||
  "$frugal" init --config "$root/configs/pretrain-10m.json" --tokenizer "$out/tokenizer" --dtype f32 --seed 1 \
    --out "$out/init"
"$frugal" train --model "$out/init" --data "$out/data" --out "$out/run" --steps 1200 --batch 16 --seq 256 \
  --lr 2e-3 --warmup 100 --eval-every 100 --eval-batches 8 --save-every 200 --threads 2 "$@"
