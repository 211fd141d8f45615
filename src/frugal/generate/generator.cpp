#include "frugal/generate/generator.h"

#include <algorithm>
#include <chrono>

#include "frugal/core/error.h"
#include "frugal/generate/stop_strings.h"
#include "frugal/tokenizer/streaming_decoder.h"

namespace frugal {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

const char* to_string(StopReason reason) {
  switch (reason) {
    case StopReason::EndToken: return "end_token";
    case StopReason::StopString: return "stop_string";
    case StopReason::MaxTokens: return "max_tokens";
    case StopReason::ContextFull: return "context_full";
    case StopReason::Interrupted: return "interrupted";
  }
  return "?";
}

GenerationResult generate(Session& session, const std::vector<int32_t>& prompt, const GenerationOptions& options,
                          const Tokenizer* tokenizer, const TextCallback& on_text,
                          const std::atomic<bool>* interrupt) {
  if (prompt.empty()) fail("the prompt is empty");
  if (tokenizer == nullptr && !options.stop_strings.empty()) fail("stop strings need a tokenizer");
  if (options.max_new_tokens < 0) fail("max new tokens must not be negative, got ", options.max_new_tokens);
  if (static_cast<int64_t>(prompt.size()) > session.context())
    fail("the prompt has ", prompt.size(), " tokens, more than the context of ", session.context(), " tokens");
  Sampler sampler(options.sampling);

  GenerationResult result;
  result.prompt_tokens = static_cast<int64_t>(prompt.size());
  // Keep the shared prefix, but always feed at least the last prompt token:
  // its logits choose the first new token.
  std::size_t cached = session.reuse_prefix(prompt);
  if (cached == prompt.size()) cached = session.reuse_prefix(std::span(prompt).first(prompt.size() - 1));
  result.prefilled_tokens = static_cast<int64_t>(prompt.size() - cached);

  const auto prefill_start = Clock::now();
  std::span<const float> logits = session.feed(std::span(prompt).subspan(cached));
  result.prefill_seconds = seconds_since(prefill_start);

  std::optional<StreamingDecoder> decoder;
  if (tokenizer != nullptr) decoder.emplace(*tokenizer);
  StopStringFilter stops(options.stop_strings);
  auto emit = [&](std::string_view text) {
    if (text.empty()) return;
    result.text += text;
    if (on_text) on_text(text);
  };

  const auto decode_start = Clock::now();
  std::vector<int32_t> context(prompt);
  for (int64_t step = 0;; ++step) {
    if (step >= options.max_new_tokens) {
      result.stop_reason = StopReason::MaxTokens;
      break;
    }
    if (interrupt != nullptr && interrupt->load()) {
      result.stop_reason = StopReason::Interrupted;
      break;
    }
    const int32_t token = sampler.sample(logits, context);
    if (std::find(options.stop_tokens.begin(), options.stop_tokens.end(), token) != options.stop_tokens.end()) {
      result.stop_reason = StopReason::EndToken;
      break;
    }
    result.tokens.push_back(token);
    context.push_back(token);
    if (decoder) {
      emit(stops.push(decoder->push(token)));
      if (stops.stopped()) {
        result.stop_reason = StopReason::StopString;
        break;
      }
    }
    if (session.remaining() == 0) {
      result.stop_reason = StopReason::ContextFull;
      break;
    }
    // The last token needs no forward pass when it is the last allowed.
    if (step + 1 < options.max_new_tokens) logits = session.feed(std::span(&token, 1));
  }
  if (decoder && !stops.stopped()) {
    emit(stops.push(decoder->flush()));
    if (stops.stopped()) {
      result.stop_reason = StopReason::StopString;
    } else {
      emit(stops.flush());  // a held-back partial stop string that never completed
    }
  }
  result.decode_seconds = seconds_since(decode_start);
  result.kv_bytes_in_use = session.kv_bytes_in_use();
  return result;
}

}  // namespace frugal
