#pragma once
// One sequence being generated: the model, its latent KV cache (allocated
// once for the session's context) and the tokens the cache holds, so a chat
// can reuse the cached prefix of the next turn's prompt.
#include <cstdint>
#include <span>
#include <vector>

#include "frugal/model/model.h"

namespace frugal {

class Session {
 public:
  // `context`: the most tokens the session can hold (at most the model's
  // max_position_embeddings); the latent cache keeps f32, bf16 or q8 values.
  Session(const Model& model, int64_t context, DType kv_cache_dtype = DType::F32, int64_t prefill_chunk = 512);

  const Model& model() const { return model_; }
  const std::vector<int32_t>& tokens() const { return tokens_; }
  int64_t context() const { return cache_.capacity(); }
  DType kv_cache_dtype() const { return cache_.dtype(); }
  int64_t remaining() const { return cache_.capacity() - static_cast<int64_t>(tokens_.size()); }

  // Appends tokens (in chunks for long prompts) and returns the logits [V]
  // after the last one. Fails, changing nothing, if they do not fit.
  std::span<const float> feed(std::span<const int32_t> tokens);

  // Keeps the longest cached prefix shared with `prompt` and drops the rest;
  // returns its length (the tokens of `prompt` that need not be fed again).
  std::size_t reuse_prefix(std::span<const int32_t> prompt);
  void reset() { reuse_prefix({}); }
  // Benchmarks: `n` cached positions of random latents (token id -1, which no
  // prompt matches), to measure decoding at depth without a long prefill.
  void fill_synthetic(int64_t n, uint64_t seed);

  // KV cache bytes holding the current tokens, and allocated in all.
  std::size_t kv_bytes_in_use() const { return tokens_.size() * cache_.bytes_per_token(); }
  std::size_t kv_bytes_allocated() const { return cache_.bytes_allocated(); }

 private:
  const Model& model_;
  KvCache cache_;
  int64_t prefill_chunk_;
  std::vector<int32_t> tokens_;
  std::vector<float> logits_;
};

}  // namespace frugal
