#pragma once
// The latent KV cache of MLA (spec section 4): per layer and token only the
// normalised latent c_kv (kv_lora_rank values) and the roped shared key k_pe
// (qk_rope_head_dim values): 576 values for every released model instead of
// H * (dn + dr + dv) for a plain multi-head cache. Memory is allocated once,
// for the capacity requested when the sequence starts.
#include <cstdint>
#include <vector>

#include "frugal/model/config.h"

namespace frugal {

class KvCache {
 public:
  // `layers` includes MTP modules (one cache layer each, after the main ones).
  KvCache(const Config& config, int layers, int64_t capacity);

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
  // Fills positions [0, n) of every layer with random vectors of unit RMS
  // (benchmarks of decode at depth: attention's cost does not depend on the
  // values, and a real prefill of 16K tokens would dominate the run).
  void fill_random(int64_t n, uint64_t seed);

  float* latent(int layer, int64_t position);
  float* rope_key(int layer, int64_t position);
  const float* latent(int layer, int64_t position) const;
  const float* rope_key(int layer, int64_t position) const;

  // Bytes held per token across all layers, and in total.
  std::size_t bytes_per_token() const;
  std::size_t bytes_allocated() const;

 private:
  int latent_dim_;
  int rope_dim_;
  int64_t capacity_;
  std::vector<int64_t> filled_;
  std::vector<float> latent_;
  std::vector<float> rope_key_;
};

}  // namespace frugal
