// frugal problems --task NAME --n N [--seed S] [--digits A-B ...] --out FILE
//                 [--sft compact|r1-zero | --text] [--exclude FILE ...]
// Writes generated problems as JSONL: {"id", "prompt", "answer"} lines that
// `frugal eval --problems` and `frugal grpo --problems` read; with --sft,
// {"prompt", "completion"} lines of worked solutions in the template's
// format for `frugal sft` (prompt rendered with the template, completion =
// the task's reasoning trace and answer); with --text, plain-text documents
// "PROMPT = ANSWER" separated by blank lines, a pre-training corpus for
// `frugal prepare-data`. --exclude skips problems whose prompt is in the
// given problems files (a held-out evaluation set), drawing replacements.
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "frugal/core/error.h"
#include "frugal/core/mapped_file.h"
#include "frugal/rl/held_out.h"
#include "frugal/rl/prompt_format.h"
#include "frugal/rl/task_registry.h"
#include "task_flags.h"

namespace frugal::cli {
namespace {

struct ProblemsOptions {
  std::string task, out, sft;
  std::vector<std::string> exclude_files;
  bool text = false;
  int64_t n = 100;
  uint64_t seed = 0;
  TaskFlags task_flags;
};

int run_problems(const ProblemsOptions& o) {
  if (o.text && !o.sft.empty()) fail("give at most one of --sft and --text");
  const std::unique_ptr<rl::Task> task = rl::make_task(o.task, o.task_flags.options());
  rl::HeldOutSet held_out;
  for (const std::string& path : o.exclude_files) held_out.add_file(path);
  std::string text;
  for (int64_t i = 0; i < o.n; ++i) {
    const rl::Problem p = rl::make_unseen(*task, o.seed, static_cast<uint64_t>(i), held_out);
    if (o.text) {
      text += p.prompt + " = " + p.answer + "\n\n";
      continue;
    }
    nlohmann::json line;
    if (o.sft.empty()) {
      line = {{"id", p.id}, {"prompt", p.prompt}, {"answer", p.answer}};
    } else {
      const rl::PromptTemplate t = rl::parse_prompt_template(o.sft);
      line = {{"prompt", rl::render_prompt(t, p.prompt)}, {"completion", rl::render_completion(t, task->worked_solution(p))}};
    }
    text += line.dump() + "\n";
  }
  write_file_atomically(o.out, text);
  std::fprintf(stderr, "wrote %lld %s problems (seed %llu) to %s\n", static_cast<long long>(o.n), task->name().c_str(),
               static_cast<unsigned long long>(o.seed), o.out.c_str());
  return 0;
}

}  // namespace

Runner add_problems_command(CLI::App& app) {
  auto o = std::make_shared<ProblemsOptions>();
  CLI::App* c = app.add_subcommand("problems", "Write generated problems (or worked solutions for SFT) as JSONL");
  c->add_option("--task", o->task, "add, sub, mul, countdown")->required();
  c->add_option("--n", o->n, "How many")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--seed", o->seed, "Seed (problem i of a seed is always the same)")->capture_default_str();
  o->task_flags.add_to(c);
  c->add_option("--sft", o->sft, "Write {prompt, completion} worked solutions in this template's format")
      ->check(CLI::IsMember({"compact", "r1-zero"}));
  c->add_flag("--text", o->text, "Write plain-text documents \"PROMPT = ANSWER\" for pre-training");
  c->add_option("--exclude", o->exclude_files, "Problems files (JSONL) whose prompts are skipped, e.g. a held-out set");
  c->add_option("--out", o->out, "Output file")->required();
  return [o] { return run_problems(*o); };
}

}  // namespace frugal::cli
