#include "frugal/serve/prefix_cache.h"

#include <algorithm>

namespace frugal::serve {
namespace {

std::size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) {
  const auto [end_a, end_b] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return static_cast<std::size_t>(end_a - a.begin());
}

}  // namespace

int64_t PrefixCache::restore(std::span<const int32_t> tokens, int64_t limit, KvCache& cache) {
  std::size_t best = 0, best_index = 0;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const std::size_t n = std::min<std::size_t>(common_prefix(tokens, entries_[i].tokens), static_cast<std::size_t>(limit));
    if (n > best) {
      best = n;
      best_index = i;
    }
  }
  if (best == 0) return 0;
  Entry& entry = entries_[best_index];
  entry.last_used = ++clock_;
  cache.copy_prefix(*entry.cache, static_cast<int64_t>(best));
  return static_cast<int64_t>(best);
}

void PrefixCache::store(std::span<const int32_t> tokens, const KvCache& cache, const Config& config) {
  if (tokens.empty()) return;
  for (Entry& entry : entries_) {
    if (common_prefix(tokens, entry.tokens) == tokens.size()) {  // already kept
      entry.last_used = ++clock_;
      return;
    }
  }
  const auto n = static_cast<int64_t>(tokens.size());
  if (n * cache.bytes_per_token() > budget_) return;
  Entry entry;
  entry.tokens.assign(tokens.begin(), tokens.end());
  entry.cache = std::make_unique<KvCache>(config, cache.layers(), n, cache.dtype());
  entry.cache->copy_prefix(cache, n);
  const std::size_t bytes = entry.cache->bytes_allocated();
  if (bytes > budget_) return;
  for (std::size_t i = entries_.size(); i-- > 0;)
    if (common_prefix(tokens, entries_[i].tokens) == entries_[i].tokens.size()) erase(i);
  while (bytes_ + bytes > budget_ && !entries_.empty()) {
    const auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                         [](const Entry& a, const Entry& b) { return a.last_used < b.last_used; });
    erase(static_cast<std::size_t>(oldest - entries_.begin()));
  }
  entry.last_used = ++clock_;
  bytes_ += entry.cache->bytes_allocated();
  entries_.push_back(std::move(entry));
}

void PrefixCache::erase(std::size_t index) {
  bytes_ -= entries_[index].cache->bytes_allocated();
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(index));
}

}  // namespace frugal::serve
