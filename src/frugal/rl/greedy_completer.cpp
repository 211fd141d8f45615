#include "frugal/rl/greedy_completer.h"

#include <algorithm>

#include "frugal/core/error.h"

namespace frugal::rl {

GreedyCompleter::GreedyCompleter(const Model& model, const Tokenizer& tokenizer, int64_t max_new_tokens,
                                 std::string stop_marker, std::string kv_cache)
    : model_(model), tokenizer_(tokenizer), stop_marker_(std::move(stop_marker)), kv_cache_(std::move(kv_cache)) {
  parse_kv_cache_dtype(kv_cache_, 0);  // an unknown name fails now, not at the first prompt
  if (max_new_tokens < 1) fail("the most tokens per completion must be at least 1, got ", max_new_tokens);
  if (stop_marker_.empty()) fail("the stop marker is empty");
  options_.sampling.temperature = 0.0f;
  options_.max_new_tokens = max_new_tokens;
  options_.stop_strings = {stop_marker_};
  options_.stop_tokens = model.config().eos_token_ids;
  if (tokenizer.eos_id()) options_.stop_tokens.push_back(*tokenizer.eos_id());
}

std::vector<int32_t> GreedyCompleter::encode_prompt(const std::string& prompt) const {
  std::vector<int32_t> ids = tokenizer_.encode(prompt);
  if (tokenizer_.add_bos_token() && tokenizer_.bos_id()) ids.insert(ids.begin(), *tokenizer_.bos_id());
  if (ids.empty()) fail("a prompt is empty");
  const int32_t vocab = model_.config().vocab_size;
  for (int32_t id : ids)
    if (id >= vocab) fail("prompt token ", id, " is outside the model's vocabulary of ", vocab, " (wrong tokenizer?)");
  const int64_t limit = model_.config().max_position_embeddings;
  if (static_cast<int64_t>(ids.size()) >= limit)
    fail("a prompt has ", ids.size(), " tokens, which leaves no room in the model's context of ", limit, " tokens");
  return ids;
}

Completion GreedyCompleter::complete_one(const std::string& prompt) {
  const std::vector<int32_t> ids = encode_prompt(prompt);
  const int64_t needed = std::min<int64_t>(static_cast<int64_t>(ids.size()) + options_.max_new_tokens,
                                           model_.config().max_position_embeddings);
  // One cache for all prompts, grown only for a longer one.
  if (!session_ || session_->context() < needed) session_ = std::make_unique<Session>(model_, needed, parse_kv_cache_dtype(kv_cache_, needed));
  return completion_from(generate(*session_, ids, options_, &tokenizer_), stop_marker_);
}

std::vector<Completion> GreedyCompleter::complete(const std::vector<std::string>& prompts) {
  std::vector<Completion> out;
  out.reserve(prompts.size());
  for (const std::string& prompt : prompts) out.push_back(complete_one(prompt));
  return out;
}

Completion completion_from(const GenerationResult& result, const std::string& stop_marker) {
  Completion c;
  c.text = result.text;
  if (result.stop_reason == StopReason::StopString) c.text += stop_marker;
  c.tokens = static_cast<int64_t>(result.tokens.size());
  c.stop_reason = to_string(result.stop_reason);
  return c;
}

}  // namespace frugal::rl
