#include "frugal/rl/evaluate.h"

#include <algorithm>
#include <chrono>

#include "frugal/core/error.h"
#include "frugal/rl/rewards.h"

namespace frugal::rl {

Evaluation evaluate(const std::vector<Problem>& problems, const Verifier& verifier, CompletionEngine& engine,
                    const EvaluationOptions& options) {
  if (problems.empty()) fail("there are no problems to evaluate");
  const auto start = std::chrono::steady_clock::now();
  const std::size_t batch = std::max<std::size_t>(options.batch_size, 1);
  Evaluation e;
  std::vector<double> lengths;
  for (std::size_t first = 0; first < problems.size(); first += batch) {
    const std::size_t last = std::min(problems.size(), first + batch);
    std::vector<std::string> prompts;
    for (std::size_t i = first; i < last; ++i)
      prompts.push_back(render_prompt(options.prompt_template, problems[i].prompt));
    std::vector<Completion> completions = engine.complete(prompts);
    if (completions.size() != prompts.size())
      fail("the completion engine returned ", completions.size(), " completions for ", prompts.size(), " prompts");
    for (std::size_t i = first; i < last; ++i) {
      ProblemOutcome o;
      o.completion = std::move(completions[i - first]);
      const ParsedCompletion parsed = parse_completion(o.completion.text);
      o.answer = parsed.answer;
      o.correct = accuracy_reward(verifier, problems[i], parsed) == 1.0;
      o.well_formed = format_reward(verifier, problems[i], parsed) == 1.0;
      e.correct += o.correct;
      e.well_formed += o.well_formed;
      lengths.push_back(static_cast<double>(o.completion.tokens));
      e.outcomes.push_back(std::move(o));
    }
    if (options.progress) options.progress(last, problems.size());
  }
  e.n = static_cast<int64_t>(problems.size());
  e.accuracy = static_cast<double>(e.correct) / static_cast<double>(e.n);
  e.format_rate = static_cast<double>(e.well_formed) / static_cast<double>(e.n);
  e.accuracy_ci95 = wilson_interval(e.correct, e.n);
  e.format_rate_ci95 = wilson_interval(e.well_formed, e.n);
  e.mean_completion_tokens = mean(lengths);
  e.mean_completion_tokens_ci95 = mean_interval(lengths);
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  e.problems_per_second = e.seconds > 0 ? static_cast<double>(e.n) / e.seconds : 0.0;
  return e;
}

}  // namespace frugal::rl
