#include "frugal/rl/grpo_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"
#include "frugal/core/line_chart.h"
#include "frugal/core/thread_pool.h"
#include "frugal/generate/batch_generation.h"
#include "frugal/rl/batch_completer.h"
#include "frugal/rl/evaluate.h"
#include "frugal/rl/held_out.h"
#include "frugal/rl/problem_file.h"
#include "frugal/rl/task_registry.h"
#include "frugal/train/parameter_tensors.h"
#include "frugal/train/run_folder.h"
#include "frugal/train/trainable_model.h"

namespace frugal::rl {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using clock = std::chrono::steady_clock;

template <typename T>
json optional_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}
template <typename T>
std::optional<T> optional_from(const json& j) {
  return j.is_null() ? std::nullopt : std::optional<T>(j.get<T>());
}

json options_to_json(const GrpoOptions& o) {
  return {{"model_dir", o.model_dir}, {"task", o.task}, {"problems_file", o.problems_file},
          {"exclude", o.exclude_files},
          {"min_digits", optional_json(o.task_options.min_digits)},
          {"max_digits", optional_json(o.task_options.max_digits)},
          {"min_numbers", optional_json(o.task_options.min_numbers)},
          {"max_numbers", optional_json(o.task_options.max_numbers)},
          {"max_number", optional_json(o.task_options.max_number)},
          {"template", o.prompt_template == PromptTemplate::Compact ? "compact" : "r1-zero"},
          {"steps", o.steps}, {"prompts_per_step", o.prompts_per_step}, {"group_size", o.group_size},
          {"max_new_tokens", o.max_new_tokens}, {"temperature", o.temperature},
          {"schedule", to_string(o.schedule.kind)}, {"lr", o.schedule.peak}, {"min_lr_ratio", o.schedule.floor_ratio},
          {"warmup", o.schedule.warmup_steps}, {"beta1", o.adamw.beta1}, {"beta2", o.adamw.beta2},
          {"weight_decay", o.adamw.weight_decay}, {"clip_norm", o.clip_norm}, {"epsilon_low", o.clip.low},
          {"epsilon_high", o.clip.high}, {"beta", o.beta}, {"aggregation", to_string(o.aggregation)},
          {"scale_by_std", o.scale_by_std}, {"mu", o.mu}, {"mask_truncated", o.mask_truncated},
          {"reward_accuracy", o.rewards.accuracy}, {"reward_format", o.rewards.format},
          {"reward_partial", o.rewards.partial}, {"eval_every", o.eval_every}, {"eval_n", o.eval_n},
          {"eval_seed", o.eval_seed}, {"save_every", o.save_every}, {"keep", o.keep_checkpoints}, {"seed", o.seed}};
}

// The options a run was started with, for --resume (`steps` may be extended).
GrpoOptions options_from_json(const json& j, const GrpoOptions& given) {
  GrpoOptions o = given;
  o.model_dir = j.at("model_dir");
  o.task = j.at("task");
  o.problems_file = j.at("problems_file");
  o.exclude_files = j.value("exclude", std::vector<std::string>{});
  o.task_options.min_digits = optional_from<int>(j.at("min_digits"));
  o.task_options.max_digits = optional_from<int>(j.at("max_digits"));
  o.task_options.min_numbers = optional_from<int>(j.at("min_numbers"));
  o.task_options.max_numbers = optional_from<int>(j.at("max_numbers"));
  o.task_options.max_number = optional_from<int64_t>(j.at("max_number"));
  o.prompt_template = parse_prompt_template(j.at("template").get<std::string>());
  if (given.steps <= 0) o.steps = j.at("steps");
  o.prompts_per_step = j.at("prompts_per_step");
  o.group_size = j.at("group_size");
  o.max_new_tokens = j.at("max_new_tokens");
  o.temperature = j.at("temperature");
  o.schedule.kind = parse_schedule_kind(j.at("schedule"));
  o.schedule.peak = j.at("lr");
  o.schedule.floor_ratio = j.at("min_lr_ratio");
  o.schedule.warmup_steps = j.at("warmup");
  o.adamw.beta1 = j.at("beta1");
  o.adamw.beta2 = j.at("beta2");
  o.adamw.weight_decay = j.at("weight_decay");
  o.clip_norm = j.at("clip_norm");
  o.clip.low = j.at("epsilon_low");
  o.clip.high = j.at("epsilon_high");
  o.beta = j.at("beta");
  o.aggregation = parse_loss_aggregation(j.at("aggregation"));
  o.scale_by_std = j.at("scale_by_std");
  o.mu = j.at("mu");
  o.mask_truncated = j.at("mask_truncated");
  o.rewards.accuracy = j.at("reward_accuracy");
  o.rewards.format = j.at("reward_format");
  o.rewards.partial = j.at("reward_partial");
  o.eval_every = j.at("eval_every");
  o.eval_n = j.at("eval_n");
  o.eval_seed = j.at("eval_seed");
  o.save_every = j.at("save_every");
  o.keep_checkpoints = j.at("keep");
  o.seed = j.at("seed");
  return o;
}

// What one step measured, for the progress line and the log.
struct StepReport {
  double reward = 0.0, accuracy = 0.0, format_rate = 0.0, completion_tokens = 0.0;
  double kl = 0.0, clip_fraction = 0.0, loss = 0.0, grad_norm = 0.0;
  double rollout_tokens_per_s = 0.0, train_tokens_per_s = 0.0, truncated = 0.0;
};

class GrpoRun {
 public:
  explicit GrpoRun(GrpoOptions options) : o_(std::move(options)) {}
  std::string run();

 private:
  void open();
  std::vector<Problem> training_problems(int64_t step) const;
  const Verifier& verifier() const { return task_ ? static_cast<const Verifier&>(*task_) : file_verifier_; }
  StepReport train_step(int64_t step);
  void evaluate(int64_t step);
  void save(int64_t step);
  void draw() const;

  GrpoOptions o_;
  std::optional<RunFolder> folder_;
  int64_t start_step_ = 0;
  std::optional<ParameterStore> store_, reference_store_;
  std::optional<TrainableModel> policy_, reference_;
  std::optional<AdamW> optimizer_;
  std::optional<Tokenizer> tokenizer_;
  std::unique_ptr<Task> task_;
  std::vector<Problem> file_problems_;
  ReferenceAnswerVerifier file_verifier_;
  std::vector<Reward> rewards_;
  std::vector<Problem> eval_problems_;
  HeldOutSet held_out_;  // never trained on: the evaluation problems and --exclude files
  std::vector<double> step_x_, reward_y_, accuracy_y_, eval_x_, eval_y_;
};

void GrpoRun::open() {
  folder_.emplace(o_.out_dir, o_.resume);
  if (o_.resume) {
    start_step_ = folder_->read_state("grpo_state.json", [&](const json& saved) { o_ = options_from_json(saved, o_); });
  } else if (o_.steps <= 0) {
    o_.steps = 200;
  }
  if (o_.group_size < 2) fail("--group must be at least 2: advantages compare completions of one prompt");
  if (o_.prompts_per_step < 1 || o_.mu < 1) fail("--prompts and --mu must be at least 1");
  for (const json& record : folder_->open_log(start_step_)) {
    if (record.contains("reward")) {
      step_x_.push_back(record["step"]);
      reward_y_.push_back(record["reward"]);
      accuracy_y_.push_back(record["accuracy"]);
    }
    if (record.contains("eval_accuracy")) eval_x_.push_back(record["step"]), eval_y_.push_back(record["eval_accuracy"]);
  }

  store_.emplace(ParameterStore::load(o_.resume ? folder_->resume_checkpoint() : o_.model_dir));
  policy_.emplace(*store_);
  optimizer_.emplace(*store_, o_.adamw);
  if (o_.resume) optimizer_->load_state(folder_->resume_checkpoint() + "/optimizer.safetensors");
  if (o_.beta != 0.0) {
    reference_store_.emplace(ParameterStore::load(o_.model_dir));
    reference_.emplace(*reference_store_);
  }
  tokenizer_.emplace(Tokenizer::load(o_.model_dir));
  rewards_ = rewards(o_.rewards);
  if (!o_.problems_file.empty()) {
    file_problems_ = read_problem_file(o_.problems_file).problems;
    // Held-out problems: every tenth line, never trained on.
    std::vector<Problem> train;
    for (std::size_t i = 0; i < file_problems_.size(); ++i)
      (i % 10 == 9 ? eval_problems_ : train).push_back(file_problems_[i]);
    if (train.empty() || eval_problems_.empty())
      fail(o_.problems_file, ": needs at least 10 problems (every tenth is held out)");
    // A prompt repeated in the file stays out of training when one copy is held out.
    for (const Problem& p : eval_problems_) held_out_.add(p);
    if (static_cast<int>(eval_problems_.size()) > o_.eval_n) eval_problems_.resize(static_cast<std::size_t>(o_.eval_n));
    file_problems_ = std::move(train);
  } else {
    task_ = make_task(o_.task, o_.task_options);
    if (o_.eval_seed == o_.seed) fail("--eval-seed must differ from --seed so that evaluation uses unseen problems");
    for (int i = 0; i < o_.eval_n; ++i) eval_problems_.push_back(task_->make(o_.eval_seed, static_cast<uint64_t>(i)));
    for (const Problem& p : eval_problems_) held_out_.add(p);
  }
  for (const std::string& path : o_.exclude_files) held_out_.add_file(path);
  if (!task_) {  // generated problems are replaced as they are drawn (make_unseen)
    std::erase_if(file_problems_, [&](const Problem& p) { return held_out_.contains(p); });
    if (file_problems_.empty())
      fail(o_.problems_file, ": every training problem is held out (evaluation lines, --exclude)");
  }
  o_.schedule.total_steps = o_.steps;
}

std::vector<Problem> GrpoRun::training_problems(int64_t step) const {
  std::vector<Problem> problems;
  for (int b = 0; b < o_.prompts_per_step; ++b) {
    const uint64_t index = static_cast<uint64_t>(step) * static_cast<uint64_t>(o_.prompts_per_step) + b;
    if (task_) {
      problems.push_back(make_unseen(*task_, o_.seed, index, held_out_));
    } else {  // a seeded stride through the file, a different start per seed
      const uint64_t n = file_problems_.size();
      problems.push_back(file_problems_[(index * 7919 + o_.seed) % n]);
    }
  }
  return problems;
}

StepReport GrpoRun::train_step(int64_t step) {
  StepReport report;
  const Config& config = store_->config();
  const std::vector<Problem> problems = training_problems(step);
  const int G = o_.group_size;
  std::vector<std::vector<int32_t>> prompts;
  for (const Problem& p : problems)
    prompts.push_back(encode_prompt(*tokenizer_, config, render_prompt(o_.prompt_template, p.prompt)));

  // Rollouts on the live weights.
  BatchGenerationOptions sampling;
  sampling.sampling.temperature = static_cast<float>(o_.temperature);
  sampling.sampling.seed = (o_.seed + 1) * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(step) * 1000003ull;
  sampling.max_new_tokens = o_.max_new_tokens;
  sampling.stop_tokens = completion_stop_tokens(*tokenizer_, config);
  BatchGenerationStats rollout;
  std::vector<frugal::Completion> completions;
  {
    const ParameterTensors tensors(*store_);
    const Model policy_view(tensors, config);
    completions = generate_batch(policy_view, prompts, G, sampling, &rollout);
  }
  report.rollout_tokens_per_s =
      static_cast<double>(rollout.generated_tokens) / std::max(1e-9, rollout.prefill_seconds + rollout.decode_seconds);

  // Rewards and advantages.
  const std::size_t n = completions.size();
  std::vector<double> rewards(n);
  std::vector<int64_t> lengths(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string text = completion_text(*tokenizer_, config, completions[i].tokens);
    const RewardScore score = score_completion(rewards_, verifier(), problems[i / G], text);
    rewards[i] = score.total;
    report.reward += score.total;
    report.accuracy += score.value("accuracy");
    report.format_rate += score.value("format");
    report.completion_tokens += static_cast<double>(completions[i].tokens.size());
    const bool truncated = completions[i].stop_reason == StopReason::MaxTokens;
    report.truncated += truncated ? 1.0 : 0.0;
    lengths[i] = o_.mask_truncated && truncated ? 0 : static_cast<int64_t>(completions[i].tokens.size());
  }
  for (double* v : {&report.reward, &report.accuracy, &report.format_rate, &report.completion_tokens, &report.truncated})
    *v /= static_cast<double>(n);
  const std::vector<double> advantages = group_advantages(rewards, G, o_.scale_by_std);
  const std::vector<double> weights = aggregation_weights(lengths, o_.aggregation, o_.max_new_tokens);

  // Sequences that carry a gradient: without the KL term, zero advantage means zero loss.
  std::vector<std::size_t> used;
  std::vector<std::vector<int32_t>> sequences;
  std::vector<int64_t> starts;
  for (std::size_t i = 0; i < n; ++i) {
    if (lengths[i] == 0 || (o_.beta == 0.0 && advantages[i] == 0.0)) continue;
    used.push_back(i);
    std::vector<int32_t> seq = prompts[i / G];
    starts.push_back(static_cast<int64_t>(seq.size()));
    seq.insert(seq.end(), completions[i].tokens.begin(), completions[i].tokens.end());
    sequences.push_back(std::move(seq));
  }
  if (used.empty()) return report;  // every group agreed: nothing to learn from this batch

  const auto train_began = clock::now();
  int64_t train_tokens = 0;
  for (const auto& s : sequences) train_tokens += static_cast<int64_t>(s.size());
  // log p of each completion token under the sampling policy and the reference.
  auto completion_log_probs = [&](TrainableModel& model) {
    const std::span<const float> all = model.forward(sequences, {false, 0.0});
    std::vector<float> out;
    for (std::size_t k = 0; k < sequences.size(); ++k)
      for (int64_t t = starts[k] - 1; t + 1 < static_cast<int64_t>(sequences[k].size()); ++t)
        out.push_back(all[model.spans().begin(static_cast<int64_t>(k)) + t]);
    return out;
  };
  std::vector<float> old_log_probs, reference_log_probs;
  if (o_.mu > 1) old_log_probs = completion_log_probs(*policy_);
  if (reference_) reference_log_probs = completion_log_probs(*reference_);

  int64_t tokens_counted = 0, clipped = 0;
  for (int iteration = 0; iteration < o_.mu; ++iteration) {
    store_->zero_grad();
    const std::span<const float> log_probs = policy_->forward(sequences, {false, 0.0});
    std::vector<float> coefficients(log_probs.size(), 0.0f);
    double loss = 0.0, kl = 0.0;
    std::size_t flat = 0;
    for (std::size_t k = 0; k < sequences.size(); ++k) {
      const std::size_t i = used[k];
      for (int64_t t = starts[k] - 1; t + 1 < static_cast<int64_t>(sequences[k].size()); ++t, ++flat) {
        const int64_t row = policy_->spans().begin(static_cast<int64_t>(k)) + t;
        const double logp = log_probs[row];
        const double old = o_.mu > 1 ? old_log_probs[flat] : logp;  // one update: on-policy, ratio 1
        const double ref = reference_ ? reference_log_probs[flat] : logp;
        const TokenTerm term = grpo_token_term(logp, old, ref, advantages[i], o_.clip, o_.beta);
        coefficients[row] = static_cast<float>(weights[i] * term.dloss_dlogp);
        loss += weights[i] * term.loss;
        kl += term.k3;
        clipped += term.clipped ? 1 : 0;
        ++tokens_counted;
      }
    }
    policy_->backward(coefficients, {}, 0.0);
    report.grad_norm = clip_gradient_norm(*store_, o_.clip_norm);
    optimizer_->step(o_.schedule.at(step));
    report.loss = loss;
    report.kl = kl / static_cast<double>(std::max<std::size_t>(1, flat));
  }
  report.clip_fraction = static_cast<double>(clipped) / static_cast<double>(std::max<int64_t>(1, tokens_counted));
  const double seconds = std::chrono::duration<double>(clock::now() - train_began).count();
  report.train_tokens_per_s = static_cast<double>(train_tokens) * o_.mu / std::max(1e-9, seconds);
  return report;
}

void GrpoRun::evaluate(int64_t step) {
  const ParameterTensors tensors(*store_);
  const Model policy_view(tensors, store_->config());
  BatchCompleter completer(policy_view, *tokenizer_, o_.max_new_tokens);
  EvaluationOptions options;
  options.prompt_template = o_.prompt_template;
  options.batch_size = 64;
  const Evaluation e = rl::evaluate(eval_problems_, verifier(), completer, options);
  std::fprintf(stderr, "eval step %lld: accuracy %.3f [%.3f, %.3f]  format %.3f  mean tokens %.1f  (%lld problems)\n",
               static_cast<long long>(step), e.accuracy, e.accuracy_ci95.lo, e.accuracy_ci95.hi, e.format_rate,
               e.mean_completion_tokens, static_cast<long long>(e.n));
  folder_->log({{"step", step}, {"eval_accuracy", e.accuracy},
                {"eval_accuracy_ci95", {e.accuracy_ci95.lo, e.accuracy_ci95.hi}},
                {"eval_format_rate", e.format_rate}, {"eval_mean_completion_tokens", e.mean_completion_tokens},
                {"eval_n", e.n}});
  eval_x_.push_back(static_cast<double>(step));
  eval_y_.push_back(e.accuracy);
  draw();
}

void GrpoRun::draw() const {
  LineChart chart;
  chart.title = "frugal grpo: reward and accuracy";
  chart.x_label = "step";
  chart.y_label = "mean per completion";
  chart.series.push_back({"training reward", step_x_, reward_y_});
  chart.series.push_back({"training accuracy (sampled)", step_x_, accuracy_y_});
  chart.series.push_back({"held-out accuracy (greedy)", eval_x_, eval_y_});
  chart.write((fs::path(o_.out_dir) / "reward.svg").string());
}

void GrpoRun::save(int64_t step) {
  const std::string dir = folder_->save_checkpoint(step, o_.keep_checkpoints, [&](const std::string& partial) {
    store_->save(partial, DType::F32);
    optimizer_->save_state(partial + "/optimizer.safetensors");
    RunFolder::write_state(partial, "grpo_state.json", step, options_to_json(o_));
    for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
      if (fs::exists(fs::path(o_.model_dir) / file)) fs::copy_file(fs::path(o_.model_dir) / file, fs::path(partial) / file);
  });
  std::fprintf(stderr, "saved %s\n", dir.c_str());
}

std::string GrpoRun::run() {
  open();
  std::fprintf(stderr, "GRPO on %s: %lld steps of %d prompts x %d completions (max %lld tokens), %s loss, beta %g, mu %d, %d threads%s\n",
               task_ ? o_.task.c_str() : o_.problems_file.c_str(), static_cast<long long>(o_.steps), o_.prompts_per_step,
               o_.group_size, static_cast<long long>(o_.max_new_tokens), to_string(o_.aggregation).c_str(), o_.beta, o_.mu,
               ThreadPool::global().num_threads(), o_.resume ? " (resumed)" : "");
  if (!o_.resume) {
    folder_->log({{"step", 0}, {"event", "start"}, {"options", options_to_json(o_)}});
    evaluate(0);
  }
  const int64_t last = o_.stop_after > 0 ? std::min(o_.stop_after, o_.steps) : o_.steps;
  for (int64_t step = start_step_; step < last; ++step) {
    const auto began = clock::now();
    const StepReport r = train_step(step);
    const int64_t done = step + 1;
    const double seconds = std::chrono::duration<double>(clock::now() - began).count();
    folder_->log({{"step", done}, {"reward", r.reward}, {"accuracy", r.accuracy}, {"format_rate", r.format_rate},
                  {"completion_tokens", r.completion_tokens}, {"truncated", r.truncated}, {"kl", r.kl},
                  {"clip_fraction", r.clip_fraction}, {"loss", r.loss}, {"grad_norm", r.grad_norm},
                  {"lr", o_.schedule.at(step)}, {"rollout_tokens_per_s", r.rollout_tokens_per_s},
                  {"train_tokens_per_s", r.train_tokens_per_s}, {"seconds", seconds}});
    step_x_.push_back(static_cast<double>(done));
    reward_y_.push_back(r.reward);
    accuracy_y_.push_back(r.accuracy);
    std::fprintf(stderr,
                 "step %lld/%lld  reward %.3f  acc %.3f  format %.3f  len %.1f  kl %.4f  clip %.3f  "
                 "rollout %.0f tok/s  train %.0f tok/s\n",
                 static_cast<long long>(done), static_cast<long long>(o_.steps), r.reward, r.accuracy, r.format_rate,
                 r.completion_tokens, r.kl, r.clip_fraction, r.rollout_tokens_per_s, r.train_tokens_per_s);
    if (RunFolder::due(done, o_.eval_every, o_.steps)) evaluate(done);
    else if (done % 10 == 0) draw();
    if (RunFolder::due(done, o_.save_every, last)) save(done);
  }
  draw();
  return (fs::path(o_.out_dir) / RunFolder::step_name(std::max(last, start_step_))).string();
}

}  // namespace

std::string run_grpo(GrpoOptions options) { return GrpoRun(std::move(options)).run(); }

}  // namespace frugal::rl
