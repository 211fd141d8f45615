#pragma once
// The absorbed form of MLA attention (spec section 4) over one sequence's
// latent cache, for several heads at once (and, with keys and values given
// separately, the naive form for one expanded head):
//   score[h][t] = (q_latent[h] . latent[t] + q_rope[h] . rope_key[t]) * scale   for t < positions
//   p[h]        = softmax(score[h])
//   out[h]      = sum_t p[h][t] latent[t]
// The AVX-512 path makes one pass over the cache, a tile of positions at a
// time (flash-decoding's online softmax: each head keeps its running maximum
// and sum, and rescales its output when the maximum grows), so a long cache
// is read from memory once, not once for the scores and again for the sum;
// within a tile every cached row is loaded once per 4 heads. Any dimensions
// work; the last partial vector is masked. The AVX2 path (widths that are
// multiples of 8) makes two plain passes; other widths run portable.
//
// Rows may be float32 or BF16 (widened exactly); the q8 cache has its own
// int8 kernel (latent_attention_q8.h).
#include <cstdint>

#include "frugal/core/cpu_features.h"
#include "frugal/core/dtype.h"

namespace frugal {

inline constexpr int kLatentAttentionMostHeads = 128;  // per call; DeepSeek-V3 has 128

struct LatentAttentionArgs {
  int heads = 0;
  int64_t positions = 0;   // cached rows the queries see
  int64_t latent_dim = 0;  // kv_lora_rank
  int64_t rope_dim = 0;    // qk_rope_head_dim
  float scale = 1.0f;
  const float* q_latent = nullptr;  // head h's latent query at q_latent + h * q_latent_stride
  int64_t q_latent_stride = 0;      // 0: latent_dim (packed)
  const float* q_rope = nullptr;    // head h's rope query at q_rope + h * q_rope_stride
  int64_t q_rope_stride = 0;
  DType rows_dtype = DType::F32;     // of the cached rows: F32 or BF16
  const void* latents = nullptr;     // position t's row at latents + t * latent_row_stride
  const void* rope_keys = nullptr;   // position t's row at rope_keys + t * rope_row_stride
  int64_t latent_row_stride = 0;     // 0: latent_dim
  int64_t rope_row_stride = 0;       // 0: rope_dim
  // What the probabilities weigh: the latents themselves (absorbed MLA), or
  // other rows (the naive form's per-head values).
  const void* values = nullptr;      // null: latents
  int64_t value_dim = 0;             // 0: latent_dim
  int64_t value_row_stride = 0;      // 0: value_dim (or latent_row_stride when values are the latents)
  // Head h attends to positions [0, visible[h]) only (1 <= visible[h] <=
  // positions); null: every head to all. Lets one call serve several tokens
  // of one head in causal prefill, their queries sharing every row loaded.
  const int64_t* visible = nullptr;
  float* scratch = nullptr;          // [heads, positions] floats
  float* out = nullptr;              // head h's output [value_dim] at out + h * out_stride
  int64_t out_stride = 0;            // 0: value_dim (packed)
};

void latent_attention(const LatentAttentionArgs& args);
// One implementation, for tests that compare each level with the portable one.
void latent_attention_at(SimdLevel level, const LatentAttentionArgs& args);

}  // namespace frugal
