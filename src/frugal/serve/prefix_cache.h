#pragma once
// DeepSeek's context caching: the latent caches of finished sequences are
// kept, least recently used out first, within a byte budget. A new sequence
// starts from the longest kept prefix of its tokens (a shared system prompt,
// the earlier turns of a chat), so only the rest is prefilled. MLA makes
// this cheap: a kept position costs the latent's bytes, not full keys and
// values.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "frugal/model/kv_cache.h"

namespace frugal::serve {

class PrefixCache {
 public:
  explicit PrefixCache(std::size_t budget_bytes) : budget_(budget_bytes) {}

  // Copies the longest kept prefix of `tokens`, at most `limit` tokens long,
  // into `cache` (empty, of the same shape) and returns its length.
  int64_t restore(std::span<const int32_t> tokens, int64_t limit, KvCache& cache);

  // Keeps positions [0, tokens.size()) of `cache`, which hold `tokens`,
  // unless a kept entry already covers them; entries that are prefixes of
  // them are dropped, then the least recently used go until all fit.
  void store(std::span<const int32_t> tokens, const KvCache& cache, const Config& config);

  std::size_t bytes() const { return bytes_; }
  std::size_t budget() const { return budget_; }
  std::size_t entries() const { return entries_.size(); }

 private:
  struct Entry {
    std::vector<int32_t> tokens;
    std::unique_ptr<KvCache> cache;  // capacity = tokens.size()
    uint64_t last_used = 0;
  };
  void erase(std::size_t index);

  std::size_t budget_;
  std::size_t bytes_ = 0;
  uint64_t clock_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace frugal::serve
