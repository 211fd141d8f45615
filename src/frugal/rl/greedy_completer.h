#pragma once
// Completions by greedy decoding, one sequence at a time, with the existing
// generate() loop. Each prompt is encoded as `frugal generate` does (BOS
// first when the tokenizer's add_bos_token says so). Generation stops at an
// end token (the model's eos_token_id and the tokenizer's EOS, not kept) or
// at the stop marker, "</answer>" by default, which is kept at the end of
// the text so the format can be checked; text the same token carried past
// the marker is dropped. One session is kept across prompts, so a template
// prefix they share is computed once.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frugal/generate/generator.h"
#include "frugal/generate/session.h"
#include "frugal/model/model.h"
#include "frugal/rl/completion_engine.h"
#include "frugal/tokenizer/tokenizer.h"

namespace frugal::rl {

class GreedyCompleter final : public CompletionEngine {
 public:
  // Model and tokenizer must outlive the completer.
  GreedyCompleter(const Model& model, const Tokenizer& tokenizer, int64_t max_new_tokens,
                  std::string stop_marker = "</answer>", std::string kv_cache = "f32");

  std::vector<Completion> complete(const std::vector<std::string>& prompts) override;
  Completion complete_one(const std::string& prompt);

 private:
  std::vector<int32_t> encode_prompt(const std::string& prompt) const;

  const Model& model_;
  const Tokenizer& tokenizer_;
  std::string stop_marker_;
  std::string kv_cache_;  // as parse_kv_cache_dtype takes it, "auto" included
  GenerationOptions options_;
  std::unique_ptr<Session> session_;
};

// The completion of a generation that was asked to stop at `stop_marker`:
// the text with the marker put back when generation stopped on it.
Completion completion_from(const GenerationResult& result, const std::string& stop_marker);

}  // namespace frugal::rl
