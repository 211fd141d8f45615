#include "frugal/model/kv_cache.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "frugal/core/error.h"

namespace frugal {

DType parse_kv_cache_dtype(const std::string& name, int64_t context) {
  if (name == "auto") return context > kAutoQ8CacheContext ? DType::I8 : DType::F32;
  if (name == "f32") return DType::F32;
  if (name == "bf16") return DType::BF16;
  if (name == "q8") return DType::I8;
  fail("--kv-cache: unknown precision '", name, "' (expected auto, f32, bf16 or q8)");
}

std::string kv_cache_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::BF16: return "bf16";
    case DType::I8: return "q8";
    default: return "f32";
  }
}

std::size_t kv_bytes_per_position(int latent_dim, int rope_dim, DType dtype) {
  if (dtype == DType::I8) return LatentTileLayout(latent_dim, rope_dim).bytes_per_position();
  return static_cast<std::size_t>(latent_dim + rope_dim) * dtype_size(dtype);
}

KvCache::KvCache(const Config& config, int layers, int64_t capacity, DType dtype)
    : latent_dim_(config.kv_lora_rank), rope_dim_(config.qk_rope_head_dim), capacity_(capacity), dtype_(dtype) {
  if (dtype != DType::F32 && dtype != DType::BF16 && dtype != DType::I8)
    fail("KV cache: values are kept as f32, bf16 or q8, not ", dtype_name(dtype));
  if (capacity < 1) fail("KV cache capacity must be at least 1 token, got ", capacity);
  if (capacity > config.max_position_embeddings)
    fail("KV cache capacity of ", capacity, " tokens exceeds the model's max_position_embeddings (",
         config.max_position_embeddings, ")");
  filled_.assign(static_cast<std::size_t>(layers), 0);
  if (dtype_ == DType::I8) {
    q8_layout_ = LatentTileLayout(latent_dim_, rope_dim_);
    q8_layer_bytes_ = static_cast<std::size_t>(LatentTileLayout::tiles_for(capacity)) * q8_layout_.tile_bytes();
    latent_.assign(static_cast<std::size_t>(layers) * q8_layer_bytes_, 0);
    return;
  }
  const auto slots = static_cast<std::size_t>(layers) * static_cast<std::size_t>(capacity);
  latent_.assign(slots * latent_dim_ * dtype_size(dtype_), 0);
  rope_key_.assign(slots * rope_dim_ * dtype_size(dtype_), 0);
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

void KvCache::copy_prefix(const KvCache& source, int64_t n) {
  if (source.dtype_ != dtype_ || source.latent_dim_ != latent_dim_ || source.rope_dim_ != rope_dim_)
    fail("KV cache: a prefix can only be copied between caches of the same shape and precision");
  const int shared_layers = std::min(layers(), source.layers());
  for (int layer = 0; layer < shared_layers; ++layer) {
    if (n > source.filled(layer)) fail("KV cache: copying ", n, " positions but layer ", layer, " holds ", source.filled(layer));
    reserve(layer, 0, n);
  }
  for (int layer = 0; layer < shared_layers; ++layer) {
    if (dtype_ == DType::I8) {
      // Whole tiles: a partly used last tile's other slots are overwritten
      // when their positions are stored.
      const std::size_t bytes = static_cast<std::size_t>(LatentTileLayout::tiles_for(n)) * q8_layout_.tile_bytes();
      std::memcpy(latent_.data() + layer * q8_layer_bytes_, source.latent_.data() + layer * source.q8_layer_bytes_, bytes);
    } else {
      std::memcpy(latent_.data() + offset(layer, 0, latent_dim_), source.latent_.data() + source.offset(layer, 0, latent_dim_),
                  static_cast<std::size_t>(n) * latent_dim_ * dtype_size(dtype_));
      std::memcpy(rope_key_.data() + offset(layer, 0, rope_dim_), source.rope_key_.data() + source.offset(layer, 0, rope_dim_),
                  static_cast<std::size_t>(n) * rope_dim_ * dtype_size(dtype_));
    }
    filled_[layer] = n;
  }
}

std::size_t KvCache::offset(int layer, int64_t position, int width) const {
  return (static_cast<std::size_t>(layer) * capacity_ + position) * width * dtype_size(dtype_);
}

uint8_t* KvCache::q8_tile(int layer, int64_t position) {
  return latent_.data() + layer * q8_layer_bytes_ + position / kLatentTilePositions * q8_layout_.tile_bytes();
}

const uint8_t* KvCache::q8_tiles(int layer) const {
  return dtype_ == DType::I8 ? latent_.data() + layer * q8_layer_bytes_ : nullptr;
}

namespace {

void store_values(const float* values, int n, DType dtype, uint8_t* out) {
  if (dtype == DType::F32) {
    std::memcpy(out, values, n * sizeof(float));
    return;
  }
  for (int i = 0; i < n; ++i) {
    const uint16_t bits = f32_to_bf16(values[i]);
    std::memcpy(out + 2 * i, &bits, 2);
  }
}

}  // namespace

void KvCache::store(int layer, int64_t position, const float* latent, const float* rope_key) {
  if (dtype_ == DType::I8) {
    store_latent_q8(q8_layout_, q8_tile(layer, position), static_cast<int>(position % kLatentTilePositions), latent,
                    rope_key);
    return;
  }
  store_values(latent, latent_dim_, dtype_, latent_.data() + offset(layer, position, latent_dim_));
  store_values(rope_key, rope_dim_, dtype_, rope_key_.data() + offset(layer, position, rope_dim_));
}

void KvCache::load_latent(int layer, int64_t position, float* out) const {
  if (dtype_ == DType::I8) {
    load_latent_q8(q8_layout_, q8_tiles(layer) + position / kLatentTilePositions * q8_layout_.tile_bytes(),
                   static_cast<int>(position % kLatentTilePositions), out, nullptr);
    return;
  }
  decode_to_f32(dtype_, latent_.data() + offset(layer, position, latent_dim_), static_cast<std::size_t>(latent_dim_), out);
}

void KvCache::load_rope_key(int layer, int64_t position, float* out) const {
  if (dtype_ == DType::I8) {
    load_latent_q8(q8_layout_, q8_tiles(layer) + position / kLatentTilePositions * q8_layout_.tile_bytes(),
                   static_cast<int>(position % kLatentTilePositions), nullptr, out);
    return;
  }
  decode_to_f32(dtype_, rope_key_.data() + offset(layer, position, rope_dim_), static_cast<std::size_t>(rope_dim_), out);
}

const void* KvCache::latent_rows(int layer) const {
  return dtype_ == DType::I8 ? nullptr : latent_.data() + offset(layer, 0, latent_dim_);
}
const void* KvCache::rope_key_rows(int layer) const {
  return dtype_ == DType::I8 ? nullptr : rope_key_.data() + offset(layer, 0, rope_dim_);
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
  std::vector<float> latent(static_cast<std::size_t>(latent_dim_)), key(static_cast<std::size_t>(rope_dim_));
  for (int layer = 0; layer < layers(); ++layer) {
    for (int64_t t = 0; t < n; ++t) {
      for (float& v : latent) v = next();
      for (float& v : key) v = next();
      store(layer, t, latent.data(), key.data());
    }
    filled_[layer] = n;
  }
}

std::size_t KvCache::bytes_per_token() const {
  return filled_.size() * kv_bytes_per_position(latent_dim_, rope_dim_, dtype_);
}

std::size_t KvCache::bytes_allocated() const {
  return latent_.size() + rope_key_.size();
}

}  // namespace frugal
