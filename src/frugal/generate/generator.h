#pragma once
// The generation loop shared by `frugal generate`, `frugal chat`, the server
// and GRPO rollouts: prefill the prompt (reusing the session's cached
// prefix), then sample, stream text, and stop on an end token, a stop
// string, the token limit, a full context or an interrupt.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "frugal/generate/sampler.h"
#include "frugal/generate/session.h"
#include "frugal/tokenizer/tokenizer.h"

namespace frugal {

struct GenerationOptions {
  SamplingParams sampling;
  int64_t max_new_tokens = 256;
  std::vector<int32_t> stop_tokens;       // generating one of these ends the reply (not included)
  std::vector<std::string> stop_strings;  // the text ends before the first occurrence
};

enum class StopReason { EndToken, StopString, MaxTokens, ContextFull, Interrupted };
const char* to_string(StopReason reason);

struct GenerationResult {
  std::vector<int32_t> tokens;  // generated ids (without the stop token)
  std::string text;             // their text, cut before a stop string
  StopReason stop_reason = StopReason::MaxTokens;
  int64_t prompt_tokens = 0;
  int64_t prefilled_tokens = 0;  // prompt tokens not already in the cache
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
  std::size_t kv_bytes_in_use = 0;
};

// Receives text as soon as it is final: whole UTF-8 characters, never the
// start of a possible stop string.
using TextCallback = std::function<void(std::string_view)>;

// `tokenizer` may be null (models without one): then there is no text and
// stop strings are not allowed.
GenerationResult generate(Session& session, const std::vector<int32_t>& prompt, const GenerationOptions& options,
                          const Tokenizer* tokenizer, const TextCallback& on_text = {},
                          const std::atomic<bool>* interrupt = nullptr);

}  // namespace frugal
