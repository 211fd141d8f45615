#pragma once
// The channel between the engine thread and the request that waits for one
// sequence: the engine appends events (text released by each token, then the
// end), the request's thread takes them as they come, and may cancel the
// sequence (its client went away), which the engine sees at its next step.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "frugal/generate/generator.h"

namespace frugal::serve {

// A generated token's log-probability under the model (log-softmax of the
// raw logits, before penalties and temperature, as vLLM and llama-server
// report them), with the most likely alternatives when asked for.
struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top;  // most likely first
};

struct SequenceUsage {
  int64_t prompt_tokens = 0;
  int64_t cached_prompt_tokens = 0;  // taken from the prefix cache, not prefilled
  int64_t completion_tokens = 0;
  double queued_seconds = 0.0;
  double time_to_first_token = 0.0;  // from submission
};

struct SequenceEvent {
  // One generated token (text: what it released, possibly empty), or the end.
  enum class Kind { Token, Finished, Failed } kind = Kind::Token;
  int32_t token = -1;
  std::string text;
  std::optional<TokenLogprob> logprob;
  StopReason stop_reason = StopReason::MaxTokens;
  SequenceUsage usage;
  std::string error;  // Failed: why
  std::chrono::steady_clock::time_point emitted;  // set by push
};

class SequenceStream {
 public:
  // Engine side.
  void push(SequenceEvent event);
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

  // Request side: waits up to `timeout` for events and moves them into
  // `out`; returns whether the sequence has ended (Finished or Failed seen).
  bool wait(std::vector<SequenceEvent>& out, std::chrono::milliseconds timeout);
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<SequenceEvent> events_;
  bool ended_ = false;
  std::atomic<bool> cancelled_{false};
};

}  // namespace frugal::serve
