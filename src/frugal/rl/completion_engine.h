#pragma once
// The seam between evaluation (and later GRPO) and whatever produces
// completions: a batch of prompt texts in, one completion each out. The
// greedy single-sequence engine (greedy_completer.h) is the first; a batched
// rollout engine can replace it without touching the callers.
#include <cstdint>
#include <string>
#include <vector>

namespace frugal::rl {

struct Completion {
  std::string text;         // the generated text; ends with "</answer>" when generation stopped there
  int64_t tokens = 0;       // generated tokens, the one completing "</answer>" included, an end token not
  std::string stop_reason;  // generator.h's to_string(StopReason): "stop_string", "end_token", "max_tokens", ...
};

class CompletionEngine {
 public:
  virtual ~CompletionEngine() = default;
  // One completion per prompt, in the same order.
  virtual std::vector<Completion> complete(const std::vector<std::string>& prompts) = 0;
};

}  // namespace frugal::rl
