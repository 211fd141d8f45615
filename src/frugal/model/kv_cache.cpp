#include "frugal/model/kv_cache.h"

#include "frugal/core/error.h"

namespace frugal {

KvCache::KvCache(const Config& config, int layers, int64_t capacity)
    : latent_dim_(config.kv_lora_rank), rope_dim_(config.qk_rope_head_dim), capacity_(capacity) {
  if (capacity < 1) fail("KV cache capacity must be at least 1 token, got ", capacity);
  if (capacity > config.max_position_embeddings)
    fail("KV cache capacity of ", capacity, " tokens exceeds the model's max_position_embeddings (",
         config.max_position_embeddings, ")");
  filled_.assign(static_cast<std::size_t>(layers), 0);
  const auto slots = static_cast<std::size_t>(layers) * static_cast<std::size_t>(capacity);
  latent_.assign(slots * latent_dim_, 0.0f);
  rope_key_.assign(slots * rope_dim_, 0.0f);
}

void KvCache::reserve(int layer, int64_t first, int64_t n) const {
  if (first > filled_.at(layer))
    fail("KV cache layer ", layer, ": position ", first, " skips past the ", filled_[layer],
         " tokens already cached");
  if (first + n > capacity_)
    fail("context of ", first + n, " tokens exceeds the KV cache capacity of ", capacity_,
         " tokens");
}

void KvCache::truncate(int64_t end) {
  for (auto& f : filled_) f = f < end ? f : end;
}

float* KvCache::latent(int layer, int64_t position) {
  return latent_.data() + (static_cast<std::size_t>(layer) * capacity_ + position) * latent_dim_;
}
float* KvCache::rope_key(int layer, int64_t position) {
  return rope_key_.data() + (static_cast<std::size_t>(layer) * capacity_ + position) * rope_dim_;
}
const float* KvCache::latent(int layer, int64_t position) const {
  return latent_.data() + (static_cast<std::size_t>(layer) * capacity_ + position) * latent_dim_;
}
const float* KvCache::rope_key(int layer, int64_t position) const {
  return rope_key_.data() + (static_cast<std::size_t>(layer) * capacity_ + position) * rope_dim_;
}

void KvCache::fill_random(int64_t n, uint64_t seed) {
  reserve(0, 0, n);
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  auto next = [&state] {  // xorshift64*: values in [-sqrt(3), sqrt(3)), unit RMS
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (static_cast<float>((state * 0x2545F4914F6CDD1Dull) >> 40) / 16777216.0f * 2.0f - 1.0f) * 1.7320508f;
  };
  for (int layer = 0; layer < layers(); ++layer) {
    for (int64_t t = 0; t < n; ++t) {
      float* latent_row = latent(layer, t);
      for (int i = 0; i < latent_dim_; ++i) latent_row[i] = next();
      float* key_row = rope_key(layer, t);
      for (int i = 0; i < rope_dim_; ++i) key_row[i] = next();
    }
    filled_[layer] = n;
  }
}

std::size_t KvCache::bytes_per_token() const {
  return filled_.size() * static_cast<std::size_t>(latent_dim_ + rope_dim_) * sizeof(float);
}

std::size_t KvCache::bytes_allocated() const {
  return (latent_.size() + rope_key_.size()) * sizeof(float);
}

}  // namespace frugal
