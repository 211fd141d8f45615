#pragma once
// Continuous batching: one engine thread owns the model and runs steps.
// Each step it advances the waiting prompts, oldest first, by at most
// `prefill_chunk` tokens in all (so prompts stall the streams for one chunk
// at most, and short ones share a step), then decodes every running sequence together in one batch (the
// weights read once for all of them), samples each with its own sampler and
// hands the text to its stream. Sequences join and leave between steps.
// Admission is by latent-cache memory: each running sequence holds a cache
// for its prompt plus its token limit, and a request waits while those
// would exceed the budget.
//
// Results do not depend on the company a sequence keeps: every product is
// row-independent, so a greedy or seeded request gives the same tokens
// alone or beside others (tests/serve/engine_test.cpp checks it).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/generate/generator.h"
#include "frugal/model/model.h"
#include "frugal/serve/prefix_cache.h"
#include "frugal/serve/sequence_stream.h"
#include "frugal/tokenizer/tokenizer.h"

namespace frugal::serve {

struct EngineOptions {
  int64_t context = 4096;  // most tokens of one sequence, prompt and reply
  DType kv_cache_dtype = DType::F32;
  int max_sequences = 64;         // running at once
  std::size_t kv_budget_bytes = 0;  // latent caches of running sequences; 0: max_sequences full contexts
  int64_t prefill_chunk = 512;
  int max_queue = 256;  // waiting requests beyond which submit refuses
  std::size_t prefix_cache_bytes = 0;
};

struct SequenceRequest {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  int64_t max_new_tokens = 256;
  std::vector<int32_t> stop_tokens;
  std::vector<std::string> stop_strings;
  int top_logprobs = -1;  // -1: no logprobs; 0: the chosen token's; k: and the k most likely
};

// Thrown by submit when the queue is full (the server answers 429).
struct QueueFull : Error {
  using Error::Error;
};

struct EngineStats {
  int running = 0;
  int waiting = 0;
  int last_batch = 0;  // sequences in the latest decode step
  std::size_t kv_bytes_in_use = 0;
  std::size_t kv_budget_bytes = 0;
  std::size_t prefix_cache_bytes = 0;
  std::size_t prefix_cache_budget = 0;
  std::size_t prefix_cache_entries = 0;
  uint64_t decode_steps = 0;
  uint64_t decoded_tokens = 0;  // summed over steps: decode_steps x batch
  double decode_seconds = 0.0;  // in decode steps (forward and sampling)
  uint64_t decoded_context = 0;  // summed over steps and sequences: positions attended
};

class Engine {
 public:
  // `tokenizer` may be null (then no text and no stop strings).
  Engine(const Model& model, const Tokenizer* tokenizer, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a sequence; fails (frugal::Error naming the limit) if it cannot
  // ever run, QueueFull if too many wait.
  std::shared_ptr<SequenceStream> submit(SequenceRequest request);

  // Ends every waiting and running sequence (finish reason Interrupted) and
  // stops the engine thread; submit refuses afterwards.
  void shutdown();

  EngineStats stats() const;
  const EngineOptions& options() const { return options_; }
  // Bytes a sequence of `tokens` positions holds in the latent cache.
  std::size_t cache_bytes(int64_t tokens) const;

 private:
  struct Sequence;
  void run();
  void admit();
  void prefill_chunk();
  void decode_running();
  // Takes a sampled token: streams its text, and ends the sequence when it
  // is a stop token or reaches a limit. Returns whether it goes on.
  bool accept(Sequence& s, int32_t token, std::span<const float> logits);
  void finish(Sequence& s, StopReason reason);
  void fail_sequence(Sequence& s, const std::string& message);
  void remove_finished();

  const Model& model_;
  const Tokenizer* tokenizer_;
  EngineOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::deque<std::unique_ptr<Sequence>> waiting_;  // guarded by mutex_
  bool stopping_ = false;                          // guarded by mutex_
  EngineStats stats_;                              // guarded by mutex_

  // Engine thread only.
  std::vector<std::unique_ptr<Sequence>> running_;
  std::size_t kv_in_use_ = 0;
  PrefixCache prefix_cache_;
  std::thread thread_;
};

}  // namespace frugal::serve
