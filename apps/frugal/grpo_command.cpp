// frugal grpo --model DIR --out DIR (--task NAME [--digits A-B ...] | --problems FILE.jsonl)
//             [--template compact|r1-zero] [--steps N] [--prompts B] [--group G] [--max-tokens N]
//             [--temperature T] [--lr X] [--schedule constant|cosine|wsd] [--warmup N]
//             [--epsilon E] [--epsilon-high E] [--beta B] [--loss sequence|token|constant]
//             [--no-std] [--mu N] [--mask-truncated] [--reward-accuracy W] [--reward-format W]
//             [--reward-partial W] [--eval-every N] [--eval-n N] [--eval-seed S]
//             [--save-every N] [--keep N] [--seed S] [--threads N] [--stop-after N] [--resume]
// Reinforcement learning with rule-checked rewards (src/frugal/rl/grpo_trainer.h).
#include <cstdio>
#include <string>

#include "commands.h"
#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/rl/grpo_trainer.h"
#include "task_flags.h"

namespace frugal::cli {
namespace {

struct GrpoCommandOptions {
  rl::GrpoOptions grpo;
  TaskFlags task_flags;
  std::string prompt_template = "compact", schedule = "constant", loss = "token";
  bool no_std = false;
  int threads = 0;
};

int run_grpo_command(GrpoCommandOptions o) {
  if (o.threads > 0) ThreadPool::set_global_threads(o.threads);
  rl::GrpoOptions& g = o.grpo;
  if (!g.resume) {
    if (g.model_dir.empty()) fail("--model is required unless --resume continues a run in --out");
    if (g.problems_file.empty() == g.task.empty()) fail("give exactly one of --task and --problems");
  }
  g.task_options = o.task_flags.options();
  g.prompt_template = rl::parse_prompt_template(o.prompt_template);
  g.schedule.kind = parse_schedule_kind(o.schedule);
  g.aggregation = rl::parse_loss_aggregation(o.loss);
  g.scale_by_std = !o.no_std;
  std::printf("%s\n", rl::run_grpo(g).c_str());
  return 0;
}

}  // namespace

Runner add_grpo_command(CLI::App& app) {
  auto o = std::make_shared<GrpoCommandOptions>();
  rl::GrpoOptions& g = o->grpo;
  g.task.clear();
  g.steps = 0;  // 0: 200 for a new run, the saved value on --resume
  g.schedule.peak = 1e-4;
  g.adamw.weight_decay = 0.0;
  CLI::App* c = app.add_subcommand("grpo", "Reinforcement learning with rule-checked rewards (GRPO)");
  c->add_option("--model", g.model_dir, "Starting policy (e.g. after frugal sft), with its tokenizer");
  c->add_option("--out", g.out_dir, "Output folder: checkpoints, train_log.jsonl, reward.svg")->required();
  c->add_option("--task", g.task, "Generated task: add, sub, mul, countdown");
  c->add_option("--problems", g.problems_file, "JSONL {\"prompt\", \"answer\"} problems (every tenth held out)");
  c->add_option("--exclude", g.exclude_files,
                 "Problems files (JSONL) whose prompts are never trained on, e.g. a held-out evaluation set");
  o->task_flags.add_to(c);
  c->add_option("--template", o->prompt_template, "Prompt template")
      ->capture_default_str()
      ->check(CLI::IsMember({"compact", "r1-zero"}));
  c->add_option("--steps", g.steps, "Steps (default 200; with --resume, the saved value)")->check(CLI::PositiveNumber);
  c->add_option("--prompts", g.prompts_per_step, "Problems per step")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--group", g.group_size, "Completions per problem (G)")->capture_default_str()->check(CLI::Range(2, 1024));
  c->add_option("--max-tokens", g.max_new_tokens, "Most tokens per completion")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--temperature", g.temperature, "Sampling temperature of the rollouts")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--lr", g.schedule.peak, "Peak learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--schedule", o->schedule, "Learning-rate schedule")
      ->capture_default_str()
      ->check(CLI::IsMember({"constant", "cosine", "wsd"}));
  c->add_option("--warmup", g.schedule.warmup_steps, "Linear warm-up steps")->capture_default_str()->check(CLI::NonNegativeNumber);
  c->add_option("--weight-decay", g.adamw.weight_decay, "AdamW weight decay")->capture_default_str()->check(CLI::NonNegativeNumber);
  c->add_option("--clip", g.clip_norm, "Global gradient-norm clip (0 = off)")->capture_default_str()->check(CLI::NonNegativeNumber);
  c->add_option("--epsilon", g.clip.low, "Ratio clip: 1 - epsilon .. 1 + epsilon")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  auto* high = c->add_option("--epsilon-high", g.clip.high, "A separate ceiling 1 + epsilon-high (DAPO clip-higher)")
                   ->check(CLI::Range(0.0, 10.0));
  c->add_option("--beta", g.beta, "Weight of the k3 KL to the starting model (0: no reference kept)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  c->add_option("--loss", o->loss, "Loss aggregation: sequence (GRPO), token (DAPO), constant (Dr. GRPO)")
      ->capture_default_str()
      ->check(CLI::IsMember({"sequence", "token", "constant"}));
  c->add_flag("--no-std", o->no_std, "Advantages r - mean, not divided by the group's std (Dr. GRPO)");
  c->add_option("--mu", g.mu, "Policy updates per batch of rollouts")->capture_default_str()->check(CLI::Range(1, 64));
  c->add_flag("--mask-truncated", g.mask_truncated, "No loss on completions cut at --max-tokens");
  c->add_option("--reward-accuracy", g.rewards.accuracy, "Weight of the accuracy reward")->capture_default_str();
  c->add_option("--reward-format", g.rewards.format, "Weight of the format reward")->capture_default_str();
  c->add_option("--reward-partial", g.rewards.partial, "Weight of the partial-credit reward")->capture_default_str();
  c->add_option("--eval-every", g.eval_every, "Held-out evaluation interval (0 = start and end only)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  c->add_option("--eval-n", g.eval_n, "Held-out problems")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--eval-seed", g.eval_seed, "Seed of the held-out problems")->capture_default_str();
  c->add_option("--save-every", g.save_every, "Checkpoint interval (0 = end only)")->capture_default_str()->check(CLI::NonNegativeNumber);
  c->add_option("--keep", g.keep_checkpoints, "Checkpoints kept")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--seed", g.seed, "Seed of the training problems and the sampling")->capture_default_str();
  c->add_option("--threads", o->threads, "Worker threads (default: all cores)")->check(CLI::PositiveNumber);
  c->add_option("--stop-after", g.stop_after, "Stop with a checkpoint after this step (resume later)")->check(CLI::PositiveNumber);
  c->add_flag("--resume", g.resume, "Continue the run in --out from its latest checkpoint");
  return [o, high] {
    if (high->count() == 0) o->grpo.clip.high = o->grpo.clip.low;
    return run_grpo_command(*o);
  };
}

}  // namespace frugal::cli
