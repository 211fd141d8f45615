#!/usr/bin/env bash
# Sets up, builds, and runs frugal on the bundled default model: a tiny
# DeepSeek-V3-architecture checkpoint stored in FP8 with block scales
# (MLA with q-LoRA, sigmoid-routed MoE with noaux_tc, one MTP module), in
# its unmodified Hugging Face layout. It describes the model, computes its
# logits by prefill and by token-by-token decode through the latent KV cache,
# and checks both against the float64 reference outputs shipped beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh

frugal=build/apps/frugal/frugal
model=tests/data/golden/v3-tiny-fp8
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo; echo "== frugal inspect"
"$frugal" inspect --model "$model/checkpoint"
for mode in prefill decode; do
  flag=$([ "$mode" = decode ] && echo --decode || true)
  echo; echo "== frugal logits ($mode)"
  "$frugal" logits --model "$model/checkpoint" --inputs "$model/inputs.json" \
    --out "$out/$mode.safetensors" $flag
  echo "-- against the float64 reference (tolerance 4.6e-5 from MANIFEST.md)"
  "$frugal" compare --reference "$model/golden.safetensors" --candidate "$out/$mode.safetensors" \
    --tolerance 4.6e-5
done
