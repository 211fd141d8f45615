#include "frugal/rl/batch_completer.h"

#include <algorithm>

#include "frugal/core/error.h"
#include "frugal/generate/batch_generation.h"

namespace frugal::rl {

std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const Config& config, const std::string& text) {
  std::vector<int32_t> ids = tokenizer.encode(text);
  if (tokenizer.add_bos_token() && tokenizer.bos_id()) ids.insert(ids.begin(), *tokenizer.bos_id());
  if (ids.empty()) fail("a prompt is empty");
  for (int32_t id : ids)
    if (id >= config.vocab_size)
      fail("prompt token ", id, " is outside the model's vocabulary of ", config.vocab_size, " (wrong tokenizer?)");
  if (static_cast<int64_t>(ids.size()) >= config.max_position_embeddings)
    fail("a prompt has ", ids.size(), " tokens, which leaves no room in the model's context of ",
         config.max_position_embeddings, " tokens");
  return ids;
}

bool is_end_token(const Tokenizer& tokenizer, const Config& config, int32_t token) {
  return std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), token) != config.eos_token_ids.end() ||
         (tokenizer.eos_id() && *tokenizer.eos_id() == token);
}

std::vector<int32_t> completion_stop_tokens(const Tokenizer& tokenizer, const Config& config) {
  std::vector<int32_t> stops = config.eos_token_ids;
  if (tokenizer.eos_id()) stops.push_back(*tokenizer.eos_id());
  if (const auto answer_end = tokenizer.token_id("</answer>")) stops.push_back(*answer_end);
  return stops;
}

std::string completion_text(const Tokenizer& tokenizer, const Config& config, std::vector<int32_t> tokens) {
  if (!tokens.empty() && is_end_token(tokenizer, config, tokens.back())) tokens.pop_back();
  std::string text;
  std::vector<int32_t> run;
  for (int32_t id : tokens) {
    if (id >= 0 && id < tokenizer.vocab_size()) {
      run.push_back(id);
      continue;
    }
    text += tokenizer.decode(run, /*skip_special_tokens=*/true) + "\xEF\xBF\xBD";
    run.clear();
  }
  return text + tokenizer.decode(run, /*skip_special_tokens=*/true);
}

BatchCompleter::BatchCompleter(const Model& model, const Tokenizer& tokenizer, int64_t max_new_tokens)
    : model_(model), tokenizer_(tokenizer), max_new_tokens_(max_new_tokens) {
  if (max_new_tokens < 1) fail("the most tokens per completion must be at least 1, got ", max_new_tokens);
}

std::vector<Completion> BatchCompleter::complete(const std::vector<std::string>& prompts) {
  std::vector<std::vector<int32_t>> ids;
  int64_t room = max_new_tokens_;
  for (const std::string& prompt : prompts) {
    ids.push_back(encode_prompt(tokenizer_, model_.config(), prompt));
    room = std::min<int64_t>(room, model_.config().max_position_embeddings - static_cast<int64_t>(ids.back().size()));
  }
  BatchGenerationOptions options;
  options.sampling.temperature = 0.0f;
  options.max_new_tokens = room;
  options.stop_tokens = completion_stop_tokens(tokenizer_, model_.config());
  std::vector<Completion> out;
  for (frugal::Completion& generated : generate_batch(model_, ids, 1, options)) {
    const std::vector<int32_t>& tokens = generated.tokens;
    Completion c;
    c.text = completion_text(tokenizer_, model_.config(), tokens);
    c.tokens = static_cast<int64_t>(tokens.size()) -
               (!tokens.empty() && is_end_token(tokenizer_, model_.config(), tokens.back()) ? 1 : 0);
    c.stop_reason = to_string(generated.stop_reason);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace frugal::rl
