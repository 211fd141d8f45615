#pragma once
// The training loop of pre-training (packed windows of a prepared dataset)
// and supervised fine-tuning (prompt/completion examples, loss on the
// completion): forward and backward, clipping, AdamW with a schedule, the
// aux-loss-free bias update, held-out evaluation, a JSONL log, a loss-curve
// SVG, and checkpoints that every frugal command loads plus the optimizer
// state for an exact resume.
//
// Output folder:
//   step-NNNNNNNN/   a Hugging Face checkpoint (float32) + optimizer.safetensors
//                    + trainer_state.json; written as .partial and renamed
//   latest           the name of the newest complete step folder (atomic)
//   train_log.jsonl  one record per step and per evaluation
//   loss.svg         training and held-out loss, redrawn as training goes
#include <cstdint>
#include <string>

#include "frugal/train/adamw.h"
#include "frugal/train/lr_schedule.h"
#include "frugal/train/trainable_model.h"

namespace frugal {

struct TrainOptions {
  std::string model_dir;  // start from this checkpoint (ignored with resume)
  std::string data_dir;   // pre-training: a folder from `frugal prepare-data`
  std::string sft_examples;  // fine-tuning instead: JSONL {"prompt", "completion"} (sft_examples.h)
  double sft_held_out = 0.05;  // fraction of the examples held out for evaluation
  std::string out_dir;
  int64_t steps = 1000;
  int batch = 8;
  int64_t seq_len = 256;
  LrSchedule schedule;    // total_steps is set to `steps`
  AdamWOptions adamw;
  double clip_norm = 1.0;
  LossOptions loss;
  double bias_gamma = 0.001;  // 0 turns the aux-loss-free bias update off
  int64_t eval_every = 100;
  int eval_batches = 8;
  int64_t save_every = 500;
  int keep_checkpoints = 2;
  uint64_t seed = 0;
  bool resume = false;
  int64_t print_every = 1;
  // Stop (with a checkpoint) after this step as if interrupted: the schedule
  // still spans `steps`, and --resume continues. 0 = run to `steps`.
  int64_t stop_after = 0;
};

// Runs training to options.steps (or stop_after); progress on stderr.
// Returns the folder of the last checkpoint written.
std::string run_training(TrainOptions options);

}  // namespace frugal
