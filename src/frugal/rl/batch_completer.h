#pragma once
// Greedy completions of many prompts at once through decode batches
// (generate/batch_generation.h): the fast engine for evaluation. Prompts are
// encoded like GreedyCompleter's (BOS when the tokenizer asks for it), and a
// completion ends at an end token (not kept) or at the "</answer>" token
// (kept), so the tokenizer must hold "</answer>" as one token for that stop
// to apply; otherwise completions run to the end token or the length limit.
#include <cstdint>
#include <string>
#include <vector>

#include "frugal/model/model.h"
#include "frugal/rl/completion_engine.h"
#include "frugal/tokenizer/tokenizer.h"

namespace frugal::rl {

// A prompt's token ids as the model sees them; fails for an empty prompt, an
// id outside the model's vocabulary or a prompt that fills the context.
std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const Config& config, const std::string& text);

// The model's and the tokenizer's end tokens, and "</answer>" when it is one token.
std::vector<int32_t> completion_stop_tokens(const Tokenizer& tokenizer, const Config& config);
// Whether `token` ends a completion without belonging to its text (an end token).
bool is_end_token(const Tokenizer& tokenizer, const Config& config, int32_t token);

// A completion's text: a trailing end token dropped, ids the tokenizer does
// not know (a model's vocabulary may be larger) shown as U+FFFD, so a
// sampled rarity costs a reward instead of stopping training.
std::string completion_text(const Tokenizer& tokenizer, const Config& config, std::vector<int32_t> tokens);

class BatchCompleter final : public CompletionEngine {
 public:
  // Model and tokenizer must outlive the completer.
  BatchCompleter(const Model& model, const Tokenizer& tokenizer, int64_t max_new_tokens);
  std::vector<Completion> complete(const std::vector<std::string>& prompts) override;

 private:
  const Model& model_;
  const Tokenizer& tokenizer_;
  int64_t max_new_tokens_;
};

}  // namespace frugal::rl
