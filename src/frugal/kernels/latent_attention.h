#pragma once
// The absorbed form of MLA attention (spec section 4) over one sequence's
// latent cache, for several heads at once:
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
  DType rows_dtype = DType::F32;     // of the cached rows: F32, or BF16 (widened exactly)
  const void* latents = nullptr;     // [positions, latent_dim]
  const void* rope_keys = nullptr;   // [positions, rope_dim]
  float* scratch = nullptr;          // [heads, positions] floats
  float* out = nullptr;              // head h's output at out + h * out_stride
  int64_t out_stride = 0;            // 0: latent_dim (packed)
};

void latent_attention(const LatentAttentionArgs& args);
// One implementation, for tests that compare each level with the portable one.
void latent_attention_at(SimdLevel level, const LatentAttentionArgs& args);

}  // namespace frugal
