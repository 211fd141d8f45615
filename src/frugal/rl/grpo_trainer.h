#pragma once
// GRPO training (DeepSeekMath, DeepSeek-R1-Zero): for each step, draw
// problems, sample a group of completions per problem through the latent-
// cache engine on the live weights (decode batches), score them by rules,
// turn rewards into group-normalised advantages, and update the policy with
// the clipped objective (and, with beta > 0, a k3 KL penalty to the frozen
// starting model), mu times per batch. Progress, a JSONL log, reward and
// accuracy curves (SVG), held-out greedy evaluation, and resumable
// checkpoints share the pre-training loop's output folder (run_folder.h).
#include <cstdint>
#include <string>
#include <vector>

#include "frugal/rl/grpo_objective.h"
#include "frugal/rl/prompt_format.h"
#include "frugal/rl/rewards.h"
#include "frugal/rl/task.h"
#include "frugal/train/adamw.h"
#include "frugal/train/lr_schedule.h"

namespace frugal::rl {

struct GrpoOptions {
  std::string model_dir;  // the starting policy (and the KL reference), with its tokenizer
  std::string out_dir;
  std::string task = "add";
  TaskOptions task_options;
  std::string problems_file;  // instead of a task: JSONL {"prompt", "answer"}
  // Problems files whose prompts are never trained on (besides the run's own
  // held-out evaluation problems, which are always excluded).
  std::vector<std::string> exclude_files;
  PromptTemplate prompt_template = PromptTemplate::Compact;

  int64_t steps = 200;
  int prompts_per_step = 8;
  int group_size = 8;  // G completions per prompt
  int64_t max_new_tokens = 128;
  double temperature = 1.0;

  LrSchedule schedule;  // total_steps is set to `steps`
  AdamWOptions adamw;
  double clip_norm = 1.0;
  ClipRange clip;
  double beta = 0.0;  // KL weight; 0 keeps no reference model
  LossAggregation aggregation = LossAggregation::TokenMean;
  bool scale_by_std = true;
  int mu = 1;                   // updates per batch of rollouts
  bool mask_truncated = false;  // completions cut at max_new_tokens get no loss (DAPO)
  RewardWeights rewards;

  int64_t eval_every = 50;  // 0: only at the start and the end
  int eval_n = 200;
  uint64_t eval_seed = 1000003;  // held-out problems: another seed than training's
  int64_t save_every = 50;
  int keep_checkpoints = 2;
  uint64_t seed = 0;
  bool resume = false;
  int64_t stop_after = 0;
};

// Runs to options.steps (or stop_after); returns the last checkpoint folder.
std::string run_grpo(GrpoOptions options);

}  // namespace frugal::rl
