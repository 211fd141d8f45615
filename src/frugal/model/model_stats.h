#pragma once
// Sizes that tell a user what a model costs: parameters in total and per
// token, bytes of weights read per decoded token, and KV cache bytes per
// token for MLA's latent cache beside a plain multi-head cache.
#include <cstdint>

#include "frugal/io/checkpoint.h"
#include "frugal/model/config.h"
#include "frugal/model/weights.h"

namespace frugal {

struct ModelStats {
  // Parameters = elements of the checkpoint's weight tensors. FP8 scale
  // tensors are quantisation metadata, not parameters; the MTP modules'
  // copies of embed_tokens and lm_head are the main model's (shared) and are
  // counted once.
  int64_t total_parameters = 0;
  int64_t main_parameters = 0;         // embedding, decoder layers, final norm, head
  int64_t mtp_parameters = 0;          // MTP modules without the shared copies
  int64_t routed_expert_parameters = 0;  // main model's routed experts
  // Main model, per token: everything but the routed experts, plus K of E
  // routed experts in every MoE layer (embedding and head included, as in
  // DeepSeek's "37B activated").
  int64_t active_parameters = 0;
  // Bytes a decode step reads from the stored weights (main model): one
  // embedding row, every non-expert weight, K experts per MoE layer, scales.
  uint64_t weight_bytes_per_token = 0;
  uint64_t checkpoint_bytes = 0;  // all tensor data in the files
  uint64_t routed_expert_bytes = 0;  // every routed expert of the main model, as held

  // KV cache values per token (all main layers).
  int64_t latent_cache_values = 0;  // L x (kv_lora_rank + qk_rope_head_dim)
  int64_t mha_cache_values = 0;     // L x H x (dn + dr + dv)
};

// Byte counts follow `format`: as stored, or with the linear weights that
// convert_weights turns into Q8 counted at 9 bits per weight.
ModelStats compute_model_stats(const Checkpoint& checkpoint, const Config& config,
                               WeightFormat format = WeightFormat::Stored);

// Bytes one decode step of `batch` sequences reads (continuous batching):
// the non-expert weights once, the routed experts the batch selects (the
// expected union when each token picks K of E uniformly: E (1 - (1 - K/E)^B)
// per MoE layer), an embedding row, and `cached_positions`
// positions of latent cache (summed over the sequences) of
// `kv_bytes_per_position` bytes each (all layers).
double decode_step_bytes(const ModelStats& stats, const Config& config, double batch, double cached_positions,
                         double kv_bytes_per_position);

}  // namespace frugal
