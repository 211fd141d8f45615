// frugal eval --model DIR
//             (--task NAME [--n 100] [--seed 0] [--digits A-B] [--numbers A-B] [--max-number N]
//              | --problems FILE.jsonl [--skip-bad-lines] [--n N])
//             [--template compact|r1-zero] [--max-tokens 256] [--weights auto|bf16|fp8|q8|q4] [--kv-cache f32|bf16|q8] [--threads N] [--json] [--show K]
// A stable interface: greedy completions of rule-checked problems, then
// accuracy, format rate and mean completion length with 95% confidence
// intervals (Wilson for the rates) and problems per second.
//
// JSON (one object): task ("file" for --problems), template, n, correct,
// well_formed, accuracy, accuracy_ci95 [lo, hi], format_rate,
// format_rate_ci95, mean_completion_tokens, mean_completion_tokens_ci95,
// max_tokens, weights, kv_cache, seconds, problems_per_second, skipped_lines; with --task also
// seed, min_difficulty, max_difficulty; with --problems also problems_file;
// with --show K also examples (id, prompt, completion, answer, expected,
// correct, well_formed, tokens, stop_reason).
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "task_flags.h"
#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/rl/evaluate.h"
#include "frugal/rl/greedy_completer.h"
#include "frugal/rl/problem_file.h"
#include "frugal/rl/task_registry.h"
#include "kv_cache_flag.h"

namespace frugal::cli {
namespace {

using json = nlohmann::json;

struct EvalOptions {
  std::string model;
  std::string task;
  std::string problems_file;
  bool skip_bad_lines = false;
  std::optional<int64_t> n;
  std::optional<uint64_t> seed;
  TaskFlags task_flags;
  std::string prompt_template = "compact";
  int64_t max_tokens = 256;
  std::string kv_cache = "auto";
  std::string weights = "auto";
  int threads = 0;
  bool json = false;
  int64_t show = 0;
};

// The problems to evaluate, their verifier, and what the report says about them.
struct ProblemSet {
  std::vector<rl::Problem> problems;
  std::unique_ptr<rl::Verifier> verifier;
  json description;  // task, seed, difficulty or problems_file, skipped_lines
};

ProblemSet generated_problems(const EvalOptions& o) {
  std::unique_ptr<rl::Task> task = rl::make_task(o.task, o.task_flags.options());
  const int64_t n = o.n.value_or(100);
  const uint64_t seed = o.seed.value_or(0);
  ProblemSet set;
  for (int64_t i = 0; i < n; ++i) set.problems.push_back(task->make(seed, static_cast<uint64_t>(i)));
  set.description = {{"task", task->name()},
                     {"seed", seed},
                     {"min_difficulty", task->min_difficulty()},
                     {"max_difficulty", task->max_difficulty()},
                     {"skipped_lines", 0}};
  set.verifier = std::move(task);
  return set;
}

ProblemSet file_problems(const EvalOptions& o) {
  if (o.seed || o.task_flags.any())
    fail("--seed, --digits, --numbers and --max-number apply to --task, not --problems");
  rl::ProblemFile file =
      rl::read_problem_file(o.problems_file, o.skip_bad_lines ? rl::BadLines::Skip : rl::BadLines::Fail);
  if (file.problems.empty())
    fail(o.problems_file, ": no problems to evaluate", file.skipped_lines ? " (every line was skipped)" : "");
  if (o.n && *o.n < static_cast<int64_t>(file.problems.size())) file.problems.resize(static_cast<std::size_t>(*o.n));
  ProblemSet set;
  set.problems = std::move(file.problems);
  set.verifier = std::make_unique<rl::ReferenceAnswerVerifier>();
  set.description = {{"task", "file"}, {"problems_file", o.problems_file}, {"skipped_lines", file.skipped_lines}};
  return set;
}

// Progress lines on stderr, at most one every five seconds, so short runs stay quiet.
std::function<void(std::size_t, std::size_t)> progress_printer() {
  const auto start = std::chrono::steady_clock::now();
  auto last = std::make_shared<std::chrono::steady_clock::time_point>(start);
  return [start, last](std::size_t done, std::size_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (now - *last < std::chrono::seconds(5) || done == total) return;
    *last = now;
    const double seconds = std::chrono::duration<double>(now - start).count();
    std::fprintf(stderr, "eval: %zu/%zu problems, %.2f problems/s\n", done, total, done / seconds);
  };
}

json examples_json(const ProblemSet& set, const rl::Evaluation& e, int64_t count) {
  json out = json::array();
  for (std::size_t i = 0; i < set.problems.size() && static_cast<int64_t>(i) < count; ++i) {
    const rl::Problem& p = set.problems[i];
    const rl::ProblemOutcome& r = e.outcomes[i];
    out.push_back({{"id", p.id},
                   {"prompt", p.prompt},
                   {"completion", r.completion.text},
                   {"answer", r.answer ? json(*r.answer) : json(nullptr)},
                   {"expected", p.answer},
                   {"correct", r.correct},
                   {"well_formed", r.well_formed},
                   {"tokens", r.completion.tokens},
                   {"stop_reason", r.completion.stop_reason}});
  }
  return out;
}

void print_text(const EvalOptions& o, const ProblemSet& set, const rl::Evaluation& e) {
  const json& d = set.description;
  for (std::size_t i = 0; i < set.problems.size() && static_cast<int64_t>(i) < o.show; ++i) {
    const rl::Problem& p = set.problems[i];
    const rl::ProblemOutcome& r = e.outcomes[i];
    std::printf("--- %s\nprompt:     %s\ncompletion: %s\nanswer:     %s (expected %s) %s, %s, %lld tokens, %s\n",
                p.id.c_str(), p.prompt.c_str(), r.completion.text.c_str(), r.answer ? r.answer->c_str() : "(none)",
                p.answer.c_str(), r.correct ? "correct" : "wrong", r.well_formed ? "well formed" : "badly formed",
                static_cast<long long>(r.completion.tokens), r.completion.stop_reason.c_str());
  }
  if (d["task"] == "file") {
    std::printf("problems %s, %lld problems", o.problems_file.c_str(), static_cast<long long>(e.n));
    if (d["skipped_lines"].get<int64_t>() > 0)
      std::printf(" (%lld malformed lines skipped)", static_cast<long long>(d["skipped_lines"].get<int64_t>()));
  } else {
    std::printf("task %s (difficulty %d-%d), %lld problems, seed %llu", d["task"].get<std::string>().c_str(),
                d["min_difficulty"].get<int>(), d["max_difficulty"].get<int>(), static_cast<long long>(e.n),
                static_cast<unsigned long long>(d["seed"].get<uint64_t>()));
  }
  std::printf(", template %s, at most %lld tokens\n", o.prompt_template.c_str(), static_cast<long long>(o.max_tokens));
  std::printf("accuracy                %.4f  (%lld/%lld)  95%% CI [%.4f, %.4f]\n", e.accuracy,
              static_cast<long long>(e.correct), static_cast<long long>(e.n), e.accuracy_ci95.lo, e.accuracy_ci95.hi);
  std::printf("format rate             %.4f  (%lld/%lld)  95%% CI [%.4f, %.4f]\n", e.format_rate,
              static_cast<long long>(e.well_formed), static_cast<long long>(e.n), e.format_rate_ci95.lo,
              e.format_rate_ci95.hi);
  std::printf("mean completion tokens  %.2f  (n %lld)  95%% CI [%.2f, %.2f]\n", e.mean_completion_tokens,
              static_cast<long long>(e.n), e.mean_completion_tokens_ci95.lo, e.mean_completion_tokens_ci95.hi);
  std::printf("speed                   %.2f problems/s (%.1f s)\n", e.problems_per_second, e.seconds);
}

int run_eval(const EvalOptions& o) {
  if (o.task.empty() == o.problems_file.empty()) fail("give exactly one of --task and --problems");
  if (o.n && *o.n < 1) fail("--n must be at least 1, got ", *o.n);
  if (o.skip_bad_lines && o.problems_file.empty()) fail("--skip-bad-lines applies to --problems");
  if (o.show < 0) fail("--show must not be negative");
  const rl::PromptTemplate prompt_template = rl::parse_prompt_template(o.prompt_template);
  if (o.threads > 0) ThreadPool::set_global_threads(o.threads);
  // Problems first: a bad file or flag fails before the model is loaded.
  const ProblemSet set = o.task.empty() ? file_problems(o) : generated_problems(o);

  const Tokenizer tokenizer = Tokenizer::load(o.model);
  const Model model(o.model, parse_weight_format(o.weights));
  rl::GreedyCompleter completer(model, tokenizer, o.max_tokens, "</answer>", o.kv_cache);
  rl::EvaluationOptions options;
  options.prompt_template = prompt_template;
  options.progress = progress_printer();
  const rl::Evaluation e = rl::evaluate(set.problems, *set.verifier, completer, options);

  if (!o.json) {
    print_text(o, set, e);
    return 0;
  }
  json out = set.description;
  out.update({{"template", o.prompt_template},
              {"n", e.n},
              {"correct", e.correct},
              {"well_formed", e.well_formed},
              {"accuracy", e.accuracy},
              {"accuracy_ci95", {e.accuracy_ci95.lo, e.accuracy_ci95.hi}},
              {"format_rate", e.format_rate},
              {"format_rate_ci95", {e.format_rate_ci95.lo, e.format_rate_ci95.hi}},
              {"mean_completion_tokens", e.mean_completion_tokens},
              {"mean_completion_tokens_ci95", {e.mean_completion_tokens_ci95.lo, e.mean_completion_tokens_ci95.hi}},
              {"max_tokens", o.max_tokens},
              {"weights", to_string(model.weight_format())},
              {"kv_cache", o.kv_cache},
              {"seconds", e.seconds},
              {"problems_per_second", e.problems_per_second}});
  if (o.show > 0) out["examples"] = examples_json(set, e, o.show);
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

Runner add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* command = app.add_subcommand("eval", "Evaluate a model on rule-checked problems (greedy)");
  command->add_option("--model", o->model, "Checkpoint folder with its tokenizer")->required();
  command->add_option("--task", o->task, "Generated task: add, sub, mul, countdown");
  command->add_option("--problems", o->problems_file, "JSONL file of {\"prompt\": ..., \"answer\": ...} lines");
  command->add_flag("--skip-bad-lines", o->skip_bad_lines, "Skip malformed lines of --problems with a warning");
  command->add_option("--n", o->n, "Problems to evaluate (--task: default 100; --problems: the first N)");
  command->add_option("--seed", o->seed, "Seed of the generated problems (default 0)");
  o->task_flags.add_to(command);
  command->add_option("--template", o->prompt_template, "Prompt template")
      ->check(CLI::IsMember({"compact", "r1-zero"}))
      ->capture_default_str();
  command->add_option("--weights", o->weights, "Weight format in memory (auto: as stored)")
      ->check(CLI::IsMember(weight_format_names()))
      ->capture_default_str();
  add_kv_cache_option(*command, o->kv_cache);
  command->add_option("--max-tokens", o->max_tokens, "Most tokens per completion")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30))
      ->capture_default_str();
  command->add_option("--threads", o->threads, "Worker threads (default: all cores)")->check(CLI::Range(1, 1024));
  command->add_flag("--json", o->json, "Print one JSON object instead of text");
  command->add_option("--show", o->show, "Print the first K problems with their completions");
  return [o] { return run_eval(*o); };
}

}  // namespace frugal::cli
