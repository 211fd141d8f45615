#!/usr/bin/env bash
# The nano-r1 recipe (docs/reasoning.md): from nothing to the bundled
# reasoning model, on 2 cores in well under 2 hours.
#   1. held-out set: 500 three-digit additions (seed 99), kept out of every stage
#   2. corpus: 90,000 "Compute A + B = C" / "A - B" documents, 1-3 digits
#   3. tokenizer: byte-level BPE of at most 320 ids (291: the corpus runs out of pairs), one token per digit, the R1 tags as specials
#   4. pre-training: 1.4M-parameter DeepSeek-V3-style model (configs/nano-r1.json)
#   5. SFT (cold start): 1,500 steps on 40,000 worked additions with column-by-column traces
#   6. GRPO: rule-checked rewards on fresh three-digit additions (no worked solutions)
#   7. models/nano-r1-sft and models/nano-r1, evaluated on the held-out set
#   scripts/nano-r1.sh [WORK_DIR]   (default runs/nano-r1; an interrupted run resumes)
# Expects a build (scripts/build.sh); FRUGAL overrides the binary, THREADS the thread count.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$root/runs/nano-r1}
frugal=${FRUGAL:-$root/build/apps/frugal/frugal}
threads=${THREADS:-2}
pretrain_steps=3000 sft_steps=1500 grpo_steps=300
mkdir -p "$work"
cd "$work"
start=$(date +%s)
say() { printf '\n== %s (%d s)\n' "$*" $(($(date +%s) - start)); }

# run_stage DIR FINAL_STEP frugal-subcommand flags...: skipped when DIR holds
# its final checkpoint, resumed when it holds an earlier one.
run_stage() {
  local dir=$1 final=$2
  shift 2
  if [ -d "$dir/$(printf 'step-%08d' "$final")" ]; then return; fi
  if [ -f "$dir/latest" ]; then
    "$frugal" "$1" --out "$dir" --resume --threads "$threads"
  else
    "$frugal" "$@" --out "$dir" --threads "$threads"
  fi
}

say "problems"
held_out=held-out.jsonl
[ -f $held_out ] || "$frugal" problems --task add --digits 3 --n 500 --seed 99 --out $held_out
[ -f add.txt ] || "$frugal" problems --task add --digits 1-3 --n 60000 --seed 11 --text --exclude $held_out --out add.txt
[ -f sub.txt ] || "$frugal" problems --task sub --digits 1-3 --n 30000 --seed 12 --text --exclude $held_out --out sub.txt
[ -f sft.jsonl ] ||
  "$frugal" problems --task add --digits 1-3 --n 40000 --seed 21 --sft compact --exclude $held_out --out sft.jsonl

say "tokenizer and data"
[ -f tokenizer/tokenizer.json ] ||
  "$frugal" train-tokenizer --vocab 320 --digit-group 1 --input add.txt sub.txt sft.jsonl --special "<think>" \
    --special "</think>" --special "<answer>" --special "</answer>" --chat-format compact --out tokenizer
[ -f data/data.json ] ||
  "$frugal" prepare-data --tokenizer tokenizer --input add.txt sub.txt --out data --held-out 0.01 --seed 1
[ -f init/config.json ] ||
  "$frugal" init --config "$root/configs/nano-r1.json" --tokenizer tokenizer --dtype f32 --seed 1 --out init

say "pre-training"
run_stage pretrain $pretrain_steps train --model init --data data --steps $pretrain_steps --batch 32 --seq 128 \
  --lr 3e-3 --warmup 100 --bias-gamma 0.01 --eval-every 500 --save-every 500 --print-every 250
sft_start=pretrain/$(printf 'step-%08d' $pretrain_steps)

say "SFT"
run_stage sft $sft_steps sft --model "$sft_start" --examples sft.jsonl --steps $sft_steps --batch 32 --lr 1e-3 \
  --warmup 50 --eval-every 400 --save-every 400 --print-every 200
grpo_start=sft/$(printf 'step-%08d' $sft_steps)

say "GRPO"
# Held-out evaluation on the same 500 problems (seed 99), which GRPO never samples.
run_stage grpo $grpo_steps grpo --model "$grpo_start" --task add --digits 3 --prompts 64 --group 8 --lr 5e-5 \
  --reward-partial 0.5 --max-tokens 64 --steps $grpo_steps --eval-every 50 --eval-n 500 --eval-seed 99 --exclude $held_out \
  --save-every 50 --keep 2
final=grpo/$(printf 'step-%08d' $grpo_steps)

say "models"
install_model() {  # install_model CHECKPOINT NAME: the inference files only, replaced atomically
  local staging="$root/models/.$2.tmp"
  rm -rf "$staging"
  mkdir -p "$staging"
  cp "$1"/config.json "$1"/model.safetensors "$1"/tokenizer.json "$1"/tokenizer_config.json "$staging"/
  rm -rf "$root/models/.$2.old"
  [ ! -d "$root/models/$2" ] || mv "$root/models/$2" "$root/models/.$2.old"
  mv "$staging" "$root/models/$2"
  rm -rf "$root/models/.$2.old"
}
install_model "$grpo_start" nano-r1-sft
install_model "$final" nano-r1
for name in nano-r1-sft nano-r1; do
  "$frugal" eval --model "$root/models/$name" --problems $held_out --max-tokens 64 --threads "$threads" --json \
    > "eval-$name.json"
  echo "$name: $(cat "eval-$name.json")"
done
say "done"
