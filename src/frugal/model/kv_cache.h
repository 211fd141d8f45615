#pragma once
// The latent KV cache of MLA (spec section 4): per layer and token only the
// normalised latent c_kv (kv_lora_rank values) and the roped shared key k_pe
// (qk_rope_head_dim values): 576 values for every released model instead of
// H * (dn + dr + dv) for a plain multi-head cache. Memory is allocated once,
// for the capacity requested when the sequence starts. Values are kept in
// float32, BF16 (half the bytes; each value rounded to 8 significant bits)
// or q8 (int8 codes with a float32 scale per 128 latent values and one for
// the roped key, in tiles of 16 positions laid out for int8 attention:
// kernels/latent_tiles_q8.h; 596 bytes per position for V2-Lite and V3);
// their effect on logits is measured in docs/performance.md.
#include <cstdint>
#include <string>
#include <vector>

#include "frugal/core/dtype.h"
#include "frugal/kernels/latent_tiles_q8.h"
#include "frugal/model/config.h"

namespace frugal {

// The cache's value type: DType::F32, DType::BF16 or DType::I8 (q8).
// Contexts longer than this get the q8 cache from "auto": a quarter of f32's
// bytes, attended in int8, so decode at 16K keeps ~80% of its short-context
// speed (~45% with f32), and already at 1K it decodes ~11% faster than f32
// and continues a prompt ~1.5x as fast (docs/performance.md). Up to it, f32:
// exact, at a cost of a few percent at most.
inline constexpr int64_t kAutoQ8CacheContext = 512;
// "f32", "bf16", "q8", or "auto" for a cache of `context` positions.
DType parse_kv_cache_dtype(const std::string& name, int64_t context);
std::string kv_cache_dtype_name(DType dtype);         // and back
// Bytes one layer holds per cached position (q8: codes and scales).
std::size_t kv_bytes_per_position(int latent_dim, int rope_dim, DType dtype);

class KvCache {
 public:
  // `layers` includes MTP modules (one cache layer each, after the main ones).
  KvCache(const Config& config, int layers, int64_t capacity, DType dtype = DType::F32);

  int64_t capacity() const { return capacity_; }
  int layers() const { return static_cast<int>(filled_.size()); }
  int latent_dim() const { return latent_dim_; }
  int rope_dim() const { return rope_dim_; }

  // Tokens written so far in a layer (every main layer advances together).
  int64_t filled(int layer) const { return filled_.at(layer); }
  // Checks that positions [first, first + n) fit and follow the filled part;
  // fails with the capacity in the message otherwise.
  void reserve(int layer, int64_t first, int64_t n) const;
  void mark_filled(int layer, int64_t end) { filled_.at(layer) = end; }
  // Forget everything from position `end` on (all layers).
  void truncate(int64_t end);
  // Copies positions [0, n) of every layer both caches have from `source`
  // (same dims and dtype; the bytes as stored, so nothing is re-rounded) and
  // marks them filled: a prefix kept from an earlier sequence.
  void copy_prefix(const KvCache& source, int64_t n);
  // Fills positions [0, n) of every layer with random vectors of unit RMS
  // (benchmarks of decode at depth: attention's cost does not depend on the
  // values, and a real prefill of 16K tokens would dominate the run).
  void fill_random(int64_t n, uint64_t seed);

  DType dtype() const { return dtype_; }
  // Stores one token's latent (latent_dim values) and roped key (rope_dim),
  // rounded to the cache's dtype.
  void store(int layer, int64_t position, const float* latent, const float* rope_key);
  // Reads them back as float32.
  void load_latent(int layer, int64_t position, float* out) const;
  void load_rope_key(int layer, int64_t position, float* out) const;
  // A layer's rows from position 0 for the attention kernel (F32 and BF16
  // caches; null for q8): latent rows of latent_dim values, rope rows of
  // rope_dim.
  const void* latent_rows(int layer) const;
  const void* rope_key_rows(int layer) const;
  // A q8 cache's tiles for a layer from position 0 (null for others), and
  // their layout.
  const uint8_t* q8_tiles(int layer) const;
  const LatentTileLayout& q8_layout() const { return q8_layout_; }

  // Bytes held per token across all layers, and in total.
  std::size_t bytes_per_token() const;
  std::size_t bytes_allocated() const;

 private:
  std::size_t offset(int layer, int64_t position, int width) const;
  uint8_t* q8_tile(int layer, int64_t position);

  int latent_dim_;
  int rope_dim_;
  int64_t capacity_;
  DType dtype_;
  std::vector<int64_t> filled_;
  std::vector<uint8_t> latent_;    // [layers, capacity, latent_dim] values of dtype_; q8: [layers, tiles]
  std::vector<uint8_t> rope_key_;  // [layers, capacity, rope_dim]; empty for q8
  LatentTileLayout q8_layout_;
  std::size_t q8_layer_bytes_ = 0;
};

}  // namespace frugal
