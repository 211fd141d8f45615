#!/usr/bin/env bash
# Sets up, builds, and runs frugal on the bundled default model, nano-r1: a
# 1.4M-parameter DeepSeek-V3-architecture model (MLA, sigmoid-routed MoE
# with a shared expert, one MTP module) that frugal trained from nothing to
# add numbers showing its reasoning: pre-training, SFT on worked solutions,
# then GRPO with rule-checked rewards (scripts/nano-r1.sh, docs/reasoning.md).
# It answers a few questions (reasoning, then the answer, with speed and
# memory figures), then scores itself on 500 held-out problems.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh

frugal=build/apps/frugal/frugal
model=models/nano-r1

echo; echo "== frugal inspect --model $model"
"$frugal" inspect --model "$model"
for question in "Compute 457 + 68" "Compute 809 + 192" "Compute 36 + 7"; do
  echo; echo "== $question"
  "$frugal" generate --model "$model" --prompt "$question"$'\n' --temperature 0 --max-tokens 64
done
echo; echo "== held-out accuracy: 500 three-digit additions no training stage saw (greedy)"
"$frugal" eval --model "$model" --task add --digits 3 --n 500 --seed 99 --max-tokens 64
