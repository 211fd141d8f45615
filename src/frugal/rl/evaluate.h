#pragma once
// Evaluation of a model on problems: one completion per problem from a
// CompletionEngine, graded by the rules of rewards.h (accuracy does not
// require a well-formed completion, only an answer block that verifies),
// summarised with 95% confidence intervals.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "frugal/rl/completion_engine.h"
#include "frugal/rl/prompt_format.h"
#include "frugal/rl/statistics.h"
#include "frugal/rl/task.h"

namespace frugal::rl {

struct EvaluationOptions {
  PromptTemplate prompt_template = PromptTemplate::Compact;
  // Prompts handed to the engine at a time; progress is reported between batches.
  std::size_t batch_size = 8;
  std::function<void(std::size_t done, std::size_t total)> progress;
};

struct ProblemOutcome {
  Completion completion;
  std::optional<std::string> answer;  // as extracted from the completion
  bool correct = false;
  bool well_formed = false;
};

struct Evaluation {
  std::vector<ProblemOutcome> outcomes;  // one per problem, in order
  int64_t n = 0;
  int64_t correct = 0;
  int64_t well_formed = 0;
  double accuracy = 0.0;
  double format_rate = 0.0;
  double mean_completion_tokens = 0.0;
  Interval accuracy_ci95, format_rate_ci95;  // Wilson
  Interval mean_completion_tokens_ci95;      // normal approximation
  double seconds = 0.0;                      // completing and grading
  double problems_per_second = 0.0;
};

// Fails for an empty problem list, or when the engine returns a wrong count.
Evaluation evaluate(const std::vector<Problem>& problems, const Verifier& verifier, CompletionEngine& engine,
                    const EvaluationOptions& options = {});

}  // namespace frugal::rl
