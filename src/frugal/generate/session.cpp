#include "frugal/generate/session.h"

#include <algorithm>

#include "frugal/core/error.h"

namespace frugal {

Session::Session(const Model& model, int64_t context, DType kv_cache_dtype, int64_t prefill_chunk)
    : model_(model),
      // The MTP modules are not run while generating, so their layers get no cache.
      cache_(model.config(), model.config().num_hidden_layers, context, kv_cache_dtype),
      prefill_chunk_(std::max<int64_t>(prefill_chunk, 1)),
      logits_(static_cast<std::size_t>(model.config().vocab_size)) {}

std::span<const float> Session::feed(std::span<const int32_t> tokens) {
  if (tokens.empty()) fail("nothing to feed: no tokens");
  const auto end = static_cast<int64_t>(tokens_.size() + tokens.size());
  if (end > cache_.capacity())
    fail("prompt of ", end, " tokens exceeds the context of ", cache_.capacity(), " tokens");
  ForwardOptions options;
  options.last_logits_only = true;
  for (std::size_t start = 0; start < tokens.size(); start += static_cast<std::size_t>(prefill_chunk_)) {
    const std::size_t n = std::min<std::size_t>(tokens.size() - start, static_cast<std::size_t>(prefill_chunk_));
    try {
      model_.forward(tokens.data() + start, static_cast<int64_t>(n), cache_, logits_.data(), nullptr, options);
    } catch (...) {
      cache_.truncate(static_cast<int64_t>(tokens_.size()));  // drop a partly fed prompt
      throw;
    }
    tokens_.insert(tokens_.end(), tokens.begin() + start, tokens.begin() + start + n);
  }
  return logits_;
}

void Session::fill_synthetic(int64_t n, uint64_t seed) {
  reset();
  cache_.fill_random(n, seed);
  tokens_.assign(static_cast<std::size_t>(n), -1);
}

std::size_t Session::reuse_prefix(std::span<const int32_t> prompt) {
  std::size_t common = 0;
  while (common < tokens_.size() && common < prompt.size() && tokens_[common] == prompt[common]) ++common;
  tokens_.resize(common);
  cache_.truncate(static_cast<int64_t>(common));
  return common;
}

}  // namespace frugal
