// frugal train --model DIR --data DIR --out DIR [--steps N] [--batch B] [--seq T]
//              [--lr X] [--schedule cosine|wsd|constant] [--warmup N] [--min-lr-ratio R]
//              [--weight-decay X] [--clip X] [--mtp-weight X] [--balance-alpha X]
//              [--bias-gamma X] [--eval-every N] [--eval-batches N] [--save-every N]
//              [--keep N] [--seed S] [--threads N] [--stop-after N] [--resume]
// Pre-trains a model from a checkpoint (e.g. `frugal init`) on data from
// `frugal prepare-data`. See src/frugal/train/trainer.h for the output folder.
// frugal sft --model DIR --examples FILE.jsonl --out DIR [--held-out 0.05] [the same flags]
// fine-tunes with the same loop on prompt/completion examples.
#include <cstdio>
#include <string>

#include "commands.h"
#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/train/trainer.h"

namespace frugal::cli {
namespace {

struct TrainCommandOptions {
  TrainOptions train;
  bool sft = false;  // `frugal sft`: the same loop on prompt/completion examples
  std::string schedule = "cosine";
  int threads = 0;
};

int run_train(TrainCommandOptions o) {
  if (o.threads > 0) ThreadPool::set_global_threads(o.threads);
  o.train.schedule.kind = parse_schedule_kind(o.schedule);
  if (!o.train.resume && (o.train.model_dir.empty() || o.train.data_dir.empty() == o.train.sft_examples.empty()))
    fail(o.sft ? "--model and --examples are required unless --resume continues a run in --out"
               : "--model and --data are required unless --resume continues a run in --out");
  const std::string final_dir = run_training(o.train);
  std::printf("%s\n", final_dir.c_str());
  return 0;
}

}  // namespace

namespace {

// The flags `train` and `sft` share.
void add_training_flags(CLI::App* c, TrainCommandOptions& o) {
  TrainOptions& t = o.train;
  c->add_option("--out", t.out_dir, "Output folder: checkpoints, train_log.jsonl, loss.svg")->required();
  c->add_option("--steps", t.steps, "Optimizer steps (default 1000; with --resume, the saved value)")
      ->check(CLI::PositiveNumber);
  c->add_option("--batch", t.batch, "Sequences per step")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--seq", t.seq_len, "Tokens per sequence")->capture_default_str()->check(CLI::Range(2, 1 << 20));
  c->add_option("--lr", t.schedule.peak, "Peak learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--schedule", o.schedule, "Learning-rate schedule")
      ->capture_default_str()
      ->check(CLI::IsMember({"cosine", "wsd", "constant"}));
  c->add_option("--warmup", t.schedule.warmup_steps, "Linear warm-up steps")->capture_default_str()->check(CLI::NonNegativeNumber);
  c->add_option("--min-lr-ratio", t.schedule.floor_ratio, "Final lr / peak lr (cosine, wsd)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  c->add_option("--decay-fraction", t.schedule.decay_fraction, "wsd: share of the steps spent decaying")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  c->add_option("--weight-decay", t.adamw.weight_decay, "AdamW decoupled weight decay (2-D tensors)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  c->add_option("--clip", t.clip_norm, "Global gradient-norm clip (0 = off)")->capture_default_str()->check(CLI::NonNegativeNumber);
  c->add_option("--mtp-weight", t.loss.mtp_weight, "lambda of the MTP loss")->capture_default_str()->check(CLI::NonNegativeNumber);
  c->add_option("--balance-alpha", t.loss.balance_alpha, "alpha of the sequence-wise balance loss")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  c->add_option("--bias-gamma", t.bias_gamma, "Aux-loss-free bias update speed (0 = off)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  c->add_option("--eval-every", t.eval_every, "Held-out evaluation interval in steps (0 = only at the end)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  c->add_option("--eval-batches", t.eval_batches, "Held-out batches per evaluation")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--save-every", t.save_every, "Checkpoint interval in steps (0 = only at the end)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  c->add_option("--keep", t.keep_checkpoints, "Checkpoints kept")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--seed", t.seed, "Data order seed")->capture_default_str();
  c->add_option("--print-every", t.print_every, "Progress line interval")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--threads", o.threads, "Worker threads (default: all cores)")->check(CLI::PositiveNumber);
  c->add_option("--stop-after", t.stop_after, "Stop with a checkpoint after this step (resume later)")
      ->check(CLI::PositiveNumber);
  c->add_flag("--resume", t.resume, "Continue the run in --out from its latest checkpoint");
}

}  // namespace

Runner add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainCommandOptions>();
  o->train.steps = 0;  // 0: 1000 for a new run, the saved value on --resume
  o->train.schedule.warmup_steps = 100;
  CLI::App* c = app.add_subcommand("train", "Pre-train a model on prepared token data");
  c->add_option("--model", o->train.model_dir, "Checkpoint to start from (frugal init)");
  c->add_option("--data", o->train.data_dir, "Folder from frugal prepare-data");
  add_training_flags(c, *o);
  return [o] { return run_train(*o); };
}

Runner add_sft_command(CLI::App& app) {
  auto o = std::make_shared<TrainCommandOptions>();
  o->sft = true;
  o->train.steps = 0;
  o->train.schedule.warmup_steps = 20;
  o->train.loss.mtp_weight = 0.0;  // fine-tuning teaches the answer; MTP stays as pre-trained
  CLI::App* c = app.add_subcommand("sft", "Fine-tune on prompt/completion examples (loss on the completion)");
  c->add_option("--model", o->train.model_dir, "Checkpoint to start from (with its tokenizer)");
  c->add_option("--examples", o->train.sft_examples, "JSONL lines {\"prompt\": ..., \"completion\": ...}");
  c->add_option("--held-out", o->train.sft_held_out, "Fraction of the examples held out for evaluation")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.5));
  add_training_flags(c, *o);
  return [o] { return run_train(*o); };
}

}  // namespace frugal::cli
